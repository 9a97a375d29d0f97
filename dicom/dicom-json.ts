// DICOM JSON (PS3.18 F.2) as DICOMweb answers it: QIDO-RS results built from the study index (no file is opened
// to answer a search), and WADO-RS metadata from a parsed instance, where the pixel data becomes a BulkDataURI
// (F.2.6) naming the instance's frames and other binary values travel inline as base64 (F.2.7). An attribute
// without a value is sent as `{ vr }` alone (F.2.5), so a viewer sees it was asked for and is empty.
import type { DcmjsDict, DcmjsElement } from 'dcmjs';
import type { InstanceRecord, StudyRecord } from '../exams/study-records.ts';
import { pixelDataTag } from './stored-instance.ts';

export type JsonElement = { vr: string; Value?: unknown[]; InlineBinary?: string; BulkDataURI?: string };
export type JsonDataset = Record<string, JsonElement>;

export interface SeriesSummary {
  seriesInstanceUid: string;
  modality?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  instanceCount: number;
}

function element(vr: string, value: string | number | undefined): JsonElement {
  return value === undefined || value === '' ? { vr } : { vr, Value: [value] };
}

/** PN (PS3.18 F.2.2): component groups separated by `=` become Alphabetic, Ideographic, Phonetic. */
export function personName(value: string | undefined): JsonElement {
  if (!value) return { vr: 'PN' };
  const [alphabetic, ideographic, phonetic] = value.split('=');
  const name: Record<string, string> = {};
  if (alphabetic) name['Alphabetic'] = alphabetic;
  if (ideographic) name['Ideographic'] = ideographic;
  if (phonetic) name['Phonetic'] = phonetic;
  return { vr: 'PN', Value: [name] };
}

/** YYYY-MM-DD (how the index keeps dates) as DA. */
function da(iso: string | undefined): string | undefined {
  return iso?.replace(/-/g, '');
}

const common = (url: string): JsonDataset => ({
  // The hub stores text as received and answers JSON, which is UTF-8 (RFC 8259).
  '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
  '00080056': { vr: 'CS', Value: ['ONLINE'] },
  '00081190': { vr: 'UR', Value: [url] },
});

/** The study's own attributes, which series and instance results repeat (as Orthanc's and dcm4chee's do). */
function studyAttributes(study: StudyRecord): JsonDataset {
  return {
    '00080020': element('DA', da(study.studyDate)),
    '00080030': element('TM', study.studyTime),
    '00080050': element('SH', study.accessionNumber),
    // Not kept by the index; type 2 in the QIDO study result (PS3.18 table 10.6.3-3), so present and empty.
    '00080090': { vr: 'PN' },
    '00081030': element('LO', study.studyDescription),
    '00100010': personName(study.patientName),
    '00100020': element('LO', study.dicomPatientId),
    '00100030': element('DA', study.patientBirthDate),
    '00100040': element('CS', study.patientSex),
    '0020000D': element('UI', study._id),
    '00200010': element('SH', study.studyId),
  };
}

export function studyJson(study: StudyRecord, base: string): JsonDataset {
  return sorted({
    ...common(`${base}/studies/${study._id}`),
    ...studyAttributes(study),
    '00080061': study.modalities.length > 0 ? { vr: 'CS', Value: [...study.modalities] } : { vr: 'CS' },
    '00201206': element('IS', study.seriesUids.length),
    '00201208': element('IS', study.instanceCount),
  });
}

/** Series of a study from its instance records, in the order the instances come (series number, then UID). */
export function summariseSeries(instances: readonly InstanceRecord[]): SeriesSummary[] {
  const series = new Map<string, SeriesSummary>();
  for (const instance of instances) {
    let summary = series.get(instance.seriesInstanceUid);
    if (summary === undefined) {
      summary = { seriesInstanceUid: instance.seriesInstanceUid, instanceCount: 0 };
      if (instance.modality) summary.modality = instance.modality;
      if (instance.seriesNumber !== undefined) summary.seriesNumber = instance.seriesNumber;
      if (instance.seriesDescription) summary.seriesDescription = instance.seriesDescription;
      series.set(instance.seriesInstanceUid, summary);
    }
    summary.instanceCount++;
  }
  return [...series.values()];
}

export function seriesJson(study: StudyRecord, series: SeriesSummary, base: string): JsonDataset {
  return sorted({
    ...studyAttributes(study),
    ...common(`${base}/studies/${study._id}/series/${series.seriesInstanceUid}`),
    '00080060': element('CS', series.modality),
    '0008103E': element('LO', series.seriesDescription),
    '0020000E': element('UI', series.seriesInstanceUid),
    '00200011': element('IS', series.seriesNumber),
    '00201209': element('IS', series.instanceCount),
  });
}

export function instanceJson(study: StudyRecord, instance: InstanceRecord, base: string): JsonDataset {
  return sorted({
    ...studyAttributes(study),
    ...common(instanceUrl(instance, base)),
    '00080060': element('CS', instance.modality),
    '0008103E': element('LO', instance.seriesDescription),
    '00200011': element('IS', instance.seriesNumber),
    '00080016': element('UI', instance.sopClassUid),
    '00080018': element('UI', instance._id),
    '0020000E': element('UI', instance.seriesInstanceUid),
    '00200013': element('IS', instance.instanceNumber),
    ...(instance.numberOfFrames === undefined ? {} : { '00280008': element('IS', instance.numberOfFrames) }),
    '00280010': element('US', instance.rows),
    '00280011': element('US', instance.columns),
    '00280100': element('US', instance.bitsAllocated),
  });
}

export function instanceUrl(instance: InstanceRecord, base: string): string {
  return `${base}/studies/${instance.studyInstanceUid}/series/${instance.seriesInstanceUid}/instances/${instance._id}`;
}

/**
 * WADO-RS metadata of one instance (PS3.18 10.4.1.2): the parsed data set, dcmjs's own fields dropped, binary
 * values inline, the pixel data as a BulkDataURI of its frames.
 */
export function metadataJson(dict: DcmjsDict, frameUrl: string, frames: number): JsonDataset {
  const out: JsonDataset = {};
  for (const [tag, value] of Object.entries(dict)) {
    if (tag === pixelDataTag) {
      const list = Array.from({ length: Math.max(1, frames) }, (_, i) => i + 1).join(',');
      out[tag] = { vr: value.vr, BulkDataURI: `${frameUrl}/frames/${list}` };
    } else {
      out[tag] = jsonElement(value);
    }
  }
  return sorted(out);
}

const binaryVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

function jsonElement(value: DcmjsElement): JsonElement {
  const { vr } = value;
  if (value.InlineBinary !== undefined) return { vr, InlineBinary: value.InlineBinary };
  const values = value.Value ?? [];
  if (values.length === 0) return { vr };
  if (binaryVrs.has(vr)) {
    const bytes = values.filter((v) => v instanceof ArrayBuffer).map((v) => Buffer.from(v as ArrayBuffer));
    return bytes.length === 0 ? { vr } : { vr, InlineBinary: Buffer.concat(bytes).toString('base64') };
  }
  if (vr === 'SQ') return { vr, Value: values.map((item) => metadataJson(item as DcmjsDict, '', 0)) };
  return { vr, Value: values.map((v) => (typeof v === 'string' ? v.replace(/\0+$/, '') : v)) };
}

function sorted(dataset: JsonDataset): JsonDataset {
  return Object.fromEntries(Object.entries(dataset).sort(([a], [b]) => a.localeCompare(b)));
}
