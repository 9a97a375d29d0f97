// The Modality Worklist (PS3.4 K): a facility's modality asks the hub (C-FIND, dicom/scp-find.ts) for the exams
// scheduled for it and gets them with the identifiers matching needs already in place, so no technician types an
// exam number into PatientID. What is scheduled: the calling AE's facility's exams still `requested` (ordered, not
// yet imaged). PatientID is the RSO exam number when the facility runs the full process (its
// coercion.patientIdFromExamNumber), otherwise the facility's MRN; AccessionNumber is the order's accession number,
// else the exam number; the exam number is also the Requested Procedure ID and the Scheduled Procedure Step ID.
// Exams are scheduled to a facility, not to a station, so the Scheduled Station AE Title is the asking AE.
// Matching (PS3.4 K.2.2.1.1): Modality, Scheduled Station AE Title, Scheduled Procedure Step Start Date (a date
// or a range, in UTC), Patient Name (wildcards, case-insensitive), Patient ID, Accession Number, Requested
// Procedure ID; other keys are returned, not matched. A single-value Accession Number, Patient ID or Requested
// Procedure ID first narrows the exams read to those with that identifier (the exam number, an order identifier,
// the MRN's patients), through the store's indexes: the answers are still matched on what they say, so the
// narrowing only has to keep every exam that could match.
import { createHash } from 'node:crypto';
import type { Exam } from '../exams/exam.ts';
import type { Facility } from '../exams/facility.ts';
import { authoritySystem } from '../exams/identity-systems.ts';
import type { Patient } from '../exams/patient.ts';
import type { ExamQuery } from '../exams/exam-queries.ts';
import type { ExamService } from '../exams/service.ts';
import { type Dataset, textOf, vrOf } from './dataset-codec.ts';
import { project } from './find-answer.ts';
import { wildcardSource } from './qido-query.ts';
import { ServiceRefusal } from './scp-exchange.ts';
import { type FindRequest, type FindService, findStatus } from './scp-find.ts';

const sps = '00400100';
const pageSize = 200;
/** An identifier value is held by a few exams; a store read this large is a safety limit, not a page. */
const maxNarrowed = 10_000;

interface WorklistKeys {
  modality?: string;
  stationAe?: string;
  dates?: { from?: string; before?: string };
  /** Top-level keys matched on the built answer: tag -> pattern. */
  patterns: Map<string, RegExp>;
}

export function worklistService(exams: ExamService): FindService {
  return async function* worklist(request: FindRequest): AsyncGenerator<Dataset> {
    const facility = await exams.facilities.findByAeTitle(request.callingAe);
    if (!facility) throw new ServiceRefusal(findStatus.failed, 'the calling AE belongs to no active facility');
    const keys = worklistKeys(request.identifier);
    if (keys.stationAe !== undefined && !pattern(keys.stationAe, false).test(request.callingAe)) return;
    const scheduled: ExamQuery = {
      facilities: [facility.code],
      statuses: ['requested'],
      ...(keys.modality === undefined ? {} : { modalities: [keys.modality] }),
      ...(keys.dates === undefined ? {} : { scheduled: keys.dates }),
    };
    const narrowed = await narrowedQueries(exams, facility, request.identifier);
    const pages = narrowed === undefined ? pagesOf(exams, scheduled) : oneSet(exams, scheduled, narrowed);
    for await (const list of pages) {
      if (request.cancelled()) return;
      const patients = await patientsOf(exams, list);
      for (const exam of list) {
        const answer = worklistItem(exam, patients.get(exam.patientId), facility, request.callingAe);
        if (matchesPatterns(answer, keys.patterns)) yield project(request.identifier, answer);
      }
    }
  };
}

/** Every scheduled exam in scheduledAt order, a page at a time. */
async function* pagesOf(exams: ExamService, query: ExamQuery): AsyncGenerator<Exam[]> {
  for (let skip = 0; ; skip += pageSize) {
    const page = await exams.findExams({
      ...query,
      sort: [{ field: 'scheduledAt', direction: 1 }],
      skip,
      limit: pageSize,
    });
    yield page.items;
    if (page.items.length < pageSize) return;
  }
}

/** What any narrowed query finds, once each, in scheduledAt order (unscheduled first, as the store sorts). */
async function* oneSet(exams: ExamService, query: ExamQuery, narrowed: readonly ExamQuery[]): AsyncGenerator<Exam[]> {
  const found = new Map<string, Exam>();
  for (const narrowing of narrowed) {
    const page = await exams.findExams({ ...query, ...narrowing, limit: maxNarrowed });
    for (const exam of page.items) found.set(exam._id, exam);
  }
  const order = (exam: Exam): string => `${exam.scheduledAt ?? ''}\u0000${exam._id}`;
  yield [...found.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

/**
 * Which exams can carry a given single value (no wildcard, PS3.4 C.2.2.2.1) of an identifier the answer is matched
 * on: AccessionNumber is the order's accession number or else the exam number; Requested Procedure ID the exam
 * number; PatientID the exam number or the patient's MRN (worklistItem). Undefined when no key narrows.
 */
async function narrowedQueries(
  exams: ExamService,
  facility: Facility,
  identifier: Dataset,
): Promise<ExamQuery[] | undefined> {
  const single = (tag: string): string | undefined => {
    const value = given(textOf(identifier, tag));
    return value === undefined || /[*?\\]/.test(value) ? undefined : value;
  };
  const procedureId = single('00401001');
  if (procedureId !== undefined) return [{ examNumbers: [procedureId] }];
  const accession = single('00080050');
  if (accession !== undefined) return [{ identifier: { value: accession } }, { examNumbers: [accession] }];
  const patientId = single('00100020');
  if (patientId === undefined) return undefined;
  if (facility.coercion?.patientIdFromExamNumber) return [{ examNumbers: [patientId] }];
  const patients = await exams.findPatients({ identifier: { value: patientId }, limit: maxNarrowed });
  return [{ patientIds: patients.items.map((patient) => patient._id) }];
}

async function patientsOf(exams: ExamService, list: readonly Exam[]): Promise<Map<string, Patient>> {
  const ids = [...new Set(list.map((exam) => exam.patientId))];
  const found = await exams.findPatients({ ids, limit: ids.length });
  return new Map(found.items.map((patient) => [patient._id, patient]));
}

function worklistKeys(identifier: Dataset): WorklistKeys {
  const step = identifier.get(sps)?.value;
  const item = Array.isArray(step) ? step[0] : undefined;
  const keys: WorklistKeys = { patterns: new Map() };
  const modality = given(textOf(item, '00080060'));
  if (modality !== undefined && /[*?]/.test(modality))
    throw new ServiceRefusal(findStatus.badIdentifier, '(0008,0060) Modality takes single value matching only');
  if (modality !== undefined) keys.modality = modality;
  const stationAe = given(textOf(item, '00400001'));
  if (stationAe !== undefined) keys.stationAe = stationAe;
  const date = given(textOf(item, '00400002'));
  if (date !== undefined) keys.dates = dateRange(date);
  for (const tag of ['00100010', '00100020', '00080050', '00401001']) {
    const value = given(textOf(identifier, tag));
    if (value !== undefined) keys.patterns.set(tag, pattern(value, tag === '00100010'));
  }
  return keys;
}

/** Universal matching (an empty value or `*`) is no condition. */
function given(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value === '*' ? undefined : value;
}

function pattern(value: string, ignoreCase: boolean): RegExp {
  return new RegExp(wildcardSource(value), ignoreCase ? 'i' : '');
}

/** DA range matching (PS3.4 C.2.2.2.5) as scheduledAt bounds: from the first day's start to the last day's end. */
function dateRange(value: string): { from?: string; before?: string } {
  const match = /^(\d{8})?(-)?(\d{8})?$/.exec(value);
  if (!match || (!match[1] && !match[3]))
    throw new ServiceRefusal(findStatus.badIdentifier, '(0040,0002) is not a date or a date range');
  const first = match[1] ? day(match[1]) : undefined;
  const last = match[3] ? day(match[3]) : match[2] ? undefined : first;
  const range: { from?: string; before?: string } = {};
  if (first) range.from = first.toISOString();
  if (last) range.before = new Date(last.getTime() + 86_400_000).toISOString();
  return range;
}

function day(da: string): Date {
  const date = new Date(`${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10).replace(/-/g, '') !== da)
    throw new ServiceRefusal(findStatus.badIdentifier, `(0040,0002) ${da} is not a calendar date`);
  return date;
}

function matchesPatterns(answer: Dataset, patterns: ReadonlyMap<string, RegExp>): boolean {
  for (const [tag, wanted] of patterns) if (!wanted.test(textOf(answer, tag) ?? '')) return false;
  return true;
}

function text(dataset: Dataset, tag: string, value: string | undefined): void {
  dataset.set(tag, { vr: vrOf(tag), value: value ?? '' });
}

/** Everything the hub knows of one scheduled exam, as worklist attributes (PS3.4 table K.6-1). */
function worklistItem(exam: Exam, patient: Patient | undefined, facility: Facility, callingAe: string): Dataset {
  const accession = exam.identifiers.find((id) => id.kind === 'accession')?.value;
  const mrnSystem = authoritySystem(facility, undefined);
  const mrn = patient?.identifiers.find((id) => id.system === mrnSystem) ?? patient?.identifiers[0];
  const description = exam.procedure.text ?? exam.procedure.display ?? exam.procedure.code;
  const scheduled = exam.scheduledAt === undefined ? undefined : new Date(exam.scheduledAt).toISOString();
  const step: Dataset = new Map();
  text(step, '00080060', exam.modality);
  text(step, '00400001', callingAe);
  text(step, '00400002', scheduled?.slice(0, 10).replace(/-/g, ''));
  text(step, '00400003', scheduled?.slice(11, 19).replace(/:/g, ''));
  text(step, '00400006', undefined);
  text(step, '00400007', description);
  text(step, '00400009', exam.examNumber);
  const answer: Dataset = new Map();
  text(answer, '00080050', accession ?? exam.examNumber);
  text(answer, '00080090', undefined);
  text(answer, '00100010', patient ? personName(patient) : undefined);
  text(answer, '00100020', facility.coercion?.patientIdFromExamNumber ? exam.examNumber : mrn?.value);
  text(answer, '00100030', patient?.birthDate?.length === 10 ? patient.birthDate.replace(/-/g, '') : undefined);
  text(answer, '00100040', { male: 'M', female: 'F', other: 'O', unknown: undefined }[patient?.sex ?? 'unknown']);
  text(answer, '0020000D', studyUidOf(exam.examNumber));
  text(answer, '00321060', description);
  text(answer, '00401001', exam.examNumber);
  answer.set(sps, { vr: 'SQ', value: [step] });
  return answer;
}

/** PN (PS3.5 6.2): family^given^middle; the FHIR-style name keeps given and middle names in one list. */
function personName(patient: Patient): string {
  const [given, ...middle] = patient.name.given;
  return [patient.name.family ?? '', given ?? '', middle.join(' ')].join('^').replace(/\^+$/, '');
}

/**
 * The Study Instance UID the modality puts on the images (PS3.4 K.6.1.2.2 lets the worklist give one): derived
 * from the exam number under the 2.25 UUID root (PS3.5 B.2), so every query answers the same UID.
 */
export function studyUidOf(examNumber: string): string {
  const digest = createHash('sha256').update(`rso-hub exam ${examNumber}`).digest();
  const uuid = Buffer.from(digest.subarray(0, 16));
  uuid[6] = (uuid[6]! & 0x0f) | 0x80;
  uuid[8] = (uuid[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${uuid.toString('hex')}`)}`;
}
