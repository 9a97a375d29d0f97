// QIDO-RS query parameters (PS3.18 8.3.4) as conditions on the study index: attribute matching by keyword or tag
// (`PatientID=`, `00100020=`), with the matching kinds of PS3.4 C.2.2.2: single value, wildcard (`*`, `?`), UID
// list (comma or backslash separated), date range (`20240101-20240131`, open at either end) and, for multi-valued
// attributes such as ModalitiesInStudy, any-of. `limit`, `offset`, `includefield` and `fuzzymatching` are the
// query's own keys. Anything else is a 400 naming the key: a viewer that sends a filter we would silently ignore
// would show the wrong studies.
import dcmjs from 'dcmjs';
import { HttpError } from '../http/http-error.ts';
import { nameKeyRange } from './patient-name-key.ts';

export type QidoLevel = 'study' | 'series' | 'instance';
type MatchKind = 'uid-list' | 'wildcard' | 'date-range' | 'any-of' | 'number';

/** One matchable attribute: its tag, how it matches and which record field holds it. */
interface Matchable {
  tag: string;
  kind: MatchKind;
  field: string;
}

const matchable: Record<QidoLevel, readonly Matchable[]> = {
  study: [
    { tag: '0020000D', kind: 'uid-list', field: '_id' },
    { tag: '00100020', kind: 'wildcard', field: 'dicomPatientId' },
    { tag: '00100010', kind: 'wildcard', field: 'patientName' },
    { tag: '00080020', kind: 'date-range', field: 'studyDate' },
    { tag: '00080050', kind: 'wildcard', field: 'accessionNumber' },
    { tag: '00080061', kind: 'any-of', field: 'modalities' },
    { tag: '00081030', kind: 'wildcard', field: 'studyDescription' },
    { tag: '00200010', kind: 'wildcard', field: 'studyId' },
  ],
  series: [
    { tag: '0020000E', kind: 'uid-list', field: 'seriesInstanceUid' },
    { tag: '00080060', kind: 'any-of', field: 'modality' },
    { tag: '00200011', kind: 'number', field: 'seriesNumber' },
    { tag: '0008103E', kind: 'wildcard', field: 'seriesDescription' },
  ],
  instance: [
    { tag: '00080018', kind: 'uid-list', field: '_id' },
    { tag: '00080016', kind: 'uid-list', field: 'sopClassUid' },
    { tag: '0020000E', kind: 'uid-list', field: 'seriesInstanceUid' },
    { tag: '00200013', kind: 'number', field: 'instanceNumber' },
  ],
};

export interface Condition {
  field: string;
  kind: MatchKind;
  /** uid-list / any-of: the values; wildcard: the pattern; number: one value. */
  values: string[];
  /** date-range: YYYY-MM-DD bounds, either may be open. */
  from?: string;
  to?: string;
  /** PN matching ignores case (PS3.4 C.2.2.2.1.1 leaves it to the SCP; viewers type names in any case). */
  ignoreCase: boolean;
}

export interface QidoQuery {
  conditions: Condition[];
  limit: number;
  offset: number;
}

export const maxLimit = 1000;

export function parseQidoQuery(params: URLSearchParams, level: QidoLevel): QidoQuery {
  const query: QidoQuery = { conditions: [], limit: maxLimit, offset: 0 };
  for (const [key, raw] of params) {
    const value = raw.trim();
    if (key === 'limit' || key === 'offset') {
      query[key] = count(key, value, key === 'limit' ? maxLimit : Number.MAX_SAFE_INTEGER);
    } else if (key === 'includefield') {
      // Every attribute the index holds is in each result already (dicom/dicom-json.ts), so an included field is
      // only checked to be one; one the index lacks cannot be added without opening files (PS3.18 8.3.4.3 allows it).
      for (const name of value.split(',')) if (name.trim() !== 'all') tagOf(name.trim(), 'includefield');
    } else if (key === 'fuzzymatching') {
      if (value !== 'true' && value !== 'false') throw new HttpError(400, 'fuzzymatching must be true or false');
    } else {
      const condition = conditionFor(level, tagOf(key, key), key, value);
      if (condition !== undefined) query.conditions.push(condition);
    }
  }
  return query;
}

/** A keyword (PatientName) or tag (00100010, 0010,0010) as the 8-digit upper-case hex tag. */
export function tagOf(name: string, parameter: string): string {
  const hex = name.replace(/[(),]/g, '').toUpperCase();
  if (/^[0-9A-F]{8}$/.test(hex)) return hex;
  const entry = dcmjs.data.DicomMetaDictionary.nameMap[name];
  if (entry === undefined) throw new HttpError(400, `${parameter}: "${name}" is not a DICOM keyword or tag`);
  return entry.tag.replace(/[(),]/g, '').toUpperCase();
}

function conditionFor(level: QidoLevel, tag: string, key: string, value: string): Condition | undefined {
  const attribute = matchable[level].find((candidate) => candidate.tag === tag);
  if (attribute === undefined) throw new HttpError(400, `${key}: not a matching key of the ${level} level here`);
  // An empty value or a lone `*` is universal matching (PS3.4 C.2.2.2.3): the attribute is returned, not matched.
  if (value === '' || value === '*') return undefined;
  const ignoreCase = tag === '00100010';
  const base = { field: attribute.field, kind: attribute.kind, ignoreCase };
  switch (attribute.kind) {
    case 'uid-list': {
      const values = value.split(/[,\\]/).map((uid) => uid.trim());
      if (values.some((uid) => !/^[0-9]+(\.[0-9]+)*$/.test(uid) || uid.length > 64))
        throw new HttpError(400, `${key}: "${value}" is not a UID or a list of UIDs`);
      return { ...base, values };
    }
    case 'any-of':
      return { ...base, values: value.split(/[,\\]/).map((item) => item.trim()) };
    case 'number':
      if (!/^[+-]?\d+$/.test(value)) throw new HttpError(400, `${key}: "${value}" is not an integer`);
      return { ...base, values: [String(Number(value))] };
    case 'date-range':
      return { ...base, values: [], ...dateRange(key, value) };
    case 'wildcard':
      return { ...base, values: [value] };
    default:
      return attribute.kind satisfies never;
  }
}

function count(key: string, value: string, max: number): number {
  if (!/^\d+$/.test(value)) throw new HttpError(400, `${key}: "${value}" is not a non-negative integer`);
  return Math.min(Number(value), max);
}

/** DA range matching (PS3.4 C.2.2.2.5): `D`, `D-`, `-D`, `D1-D2`. */
function dateRange(key: string, value: string): { from?: string; to?: string } {
  const match = /^(\d{8})?(-)?(\d{8})?$/.exec(value);
  if (!match || (!match[1] && !match[3]))
    throw new HttpError(400, `${key}: "${value}" is not a date (YYYYMMDD) or a date range (YYYYMMDD-YYYYMMDD)`);
  const from = match[1] ? isoDate(key, match[1]) : undefined;
  const to = match[3] ? isoDate(key, match[3]) : match[2] ? undefined : from;
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

function isoDate(key: string, da: string): string {
  const iso = `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}`;
  const date = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso)
    throw new HttpError(400, `${key}: ${da} is not a calendar date`);
  return iso;
}

/** A wildcard pattern (PS3.4 C.2.2.2.4: `*` any run, `?` one character) as an anchored regular expression. */
export function wildcardSource(pattern: string): string {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return `^${escaped.replace(/\*/g, '.*').replace(/\?/g, '.')}$`;
}

/** The conditions as a store filter (MongoDB query language, which the embedded engine speaks too). */
export function storeFilter(conditions: readonly Condition[]): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  for (const condition of conditions) {
    const { field } = condition;
    if (condition.kind === 'date-range') {
      filter[field] = {
        ...(condition.from ? { $gte: condition.from } : {}),
        ...(condition.to ? { $lte: condition.to } : {}),
      };
    } else if (condition.kind === 'wildcard') {
      const value = condition.values[0] ?? '';
      const range = field === 'patientName' ? nameKeyRange(value) : undefined;
      if (range !== undefined) filter['patientNameKey'] = { $gte: range.from, $lt: range.to };
      filter[field] =
        /[*?]/.test(value) || condition.ignoreCase
          ? { $regex: wildcardSource(value), ...(condition.ignoreCase ? { $options: 'i' } : {}) }
          : value;
    } else if (condition.kind === 'number') {
      filter[field] = Number(condition.values[0]);
    } else {
      filter[field] = { $in: condition.values };
    }
  }
  return filter;
}

/** The same conditions on a record in memory (series and instances are read per study, then matched). */
export function matches(record: Readonly<Record<string, unknown>>, conditions: readonly Condition[]): boolean {
  return conditions.every((condition) => {
    const value = record[condition.field];
    const values = Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
    switch (condition.kind) {
      case 'date-range':
        return values.some((v) => (!condition.from || v >= condition.from) && (!condition.to || v <= condition.to));
      case 'wildcard': {
        const pattern = new RegExp(wildcardSource(condition.values[0] ?? ''), condition.ignoreCase ? 'i' : '');
        return values.some((v) => pattern.test(v));
      }
      default:
        return values.some((v) => condition.values.includes(v));
    }
  });
}
