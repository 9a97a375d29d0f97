// The reading side of `reports` in hub.yaml (issue 15): where a study opens in a DICOMweb viewer, and the report
// templates a radiologist starts from, per modality. Parsed here, beside load.ts, so the report settings grow
// without making the loader longer.
import { ValidationError, expectArray, expectKeys, expectObject, expectString, join } from '../runtime/validate.ts';

export interface ReportTemplate {
  name: string;
  findings?: string;
  impression?: string;
}

export interface ReadingConfig {
  /** An http(s) URL with `{StudyInstanceUID}` where the study's UID goes (OHIF: `.../viewer?StudyInstanceUIDs=…`). */
  viewerUrl?: string;
  /** By DICOM modality (CT, MR, …); `*` applies to every modality. */
  templates: Record<string, ReportTemplate[]>;
}

export const readingKeys = ['viewerUrl', 'templates'] as const;

export function parseReadingConfig(section: Record<string, unknown>): ReadingConfig {
  const templates: Record<string, ReportTemplate[]> = {};
  const raw = section['templates'] === undefined ? {} : expectObject(section['templates'], 'reports.templates');
  for (const [modality, list] of Object.entries(raw)) {
    const at = join('reports.templates', modality);
    if (!/^(\*|[A-Z]{2,4})$/.test(modality))
      throw new ValidationError(at, 'expected a DICOM modality code (CT, MR, …) or * for every modality');
    templates[modality] = expectArray(list, at).map((entry, i) => template(entry, join(at, i)));
  }
  const viewerUrl = section['viewerUrl'] == null ? undefined : viewer(section['viewerUrl']);
  return { ...(viewerUrl === undefined ? {} : { viewerUrl }), templates };
}

function template(value: unknown, at: string): ReportTemplate {
  const entry = expectObject(value, at);
  expectKeys(entry, at, ['name', 'findings', 'impression']);
  const result: ReportTemplate = { name: expectString(entry['name'], join(at, 'name')) };
  for (const key of ['findings', 'impression'] as const) {
    const text = entry[key];
    if (text === undefined) continue;
    // Empty is allowed: a template may leave the impression for the radiologist to write.
    if (typeof text !== 'string') throw new ValidationError(join(at, key), 'expected text');
    result[key] = text;
  }
  return result;
}

function viewer(value: unknown): string {
  const url = expectString(value, 'reports.viewerUrl');
  if (!/^https?:\/\//.test(url) || !url.includes('{StudyInstanceUID}'))
    throw new ValidationError('reports.viewerUrl', 'expected an http(s) URL with {StudyInstanceUID} in it');
  return url;
}
