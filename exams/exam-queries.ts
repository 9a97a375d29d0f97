// The read side of the exam service: exams by number, identifier or study, and the searches behind FHIR search
// and the admin lists. Pages never carry the history and outbox (a list never shows them) and sort on _id last,
// so that pages do not overlap or skip when sort keys tie.
import type { Document, Filter, HubCollection, WithId } from '../store/db.ts';
import { identifierKeyOf, type Exam, type ExamIdentifierKind } from './exam.ts';
import type { ExamWrites } from './exam-writes.ts';
import type { ExamStatus } from './lifecycle.ts';
import type { Patient, PatientRecords } from './patient.ts';

export interface DateRange {
  /** Inclusive lower bound, ISO 8601 UTC. */
  from?: string;
  /** Exclusive upper bound. */
  before?: string;
}

export type ExamSortField = 'createdAt' | 'updatedAt' | 'scheduledAt' | 'examNumber' | 'priorityRank';

export interface ExamQuery {
  examNumbers?: string[];
  identifier?: { system?: string; value: string };
  patientIds?: string[];
  statuses?: readonly ExamStatus[];
  facilities?: readonly string[];
  created?: DateRange[];
  updated?: DateRange[];
  /** scheduledAt within the range (the Modality Worklist's Scheduled Procedure Step Start Date). */
  scheduled?: DateRange;
  modalities?: readonly string[];
  sort?: Array<{ field: ExamSortField; direction: 1 | -1 }>;
  skip?: number;
  limit?: number;
}

export interface PatientQuery {
  ids?: string[];
  identifier?: { system?: string; value: string };
  family?: string;
  birthDate?: string;
  updated?: DateRange[];
  /** Only patients with an exam at one of these facilities (facility-limited users). */
  facilities?: readonly string[];
  sort?: Array<{ field: 'updatedAt' | 'createdAt' | 'birthDate'; direction: 1 | -1 }>;
  skip?: number;
  limit?: number;
}

export interface Page<T> {
  total: number;
  items: T[];
}

export class ExamQueries {
  readonly #writes: ExamWrites;
  readonly #patients: PatientRecords;

  constructor(writes: ExamWrites, patients: PatientRecords) {
    this.#writes = writes;
    this.#patients = patients;
  }

  async findByIdentifier(
    facility: string,
    kind: ExamIdentifierKind,
    value: string,
    system?: string,
  ): Promise<Exam | undefined> {
    const key = identifierKeyOf(facility, system === undefined ? { kind, value } : { kind, value, system });
    return (await this.#writes.collection.findOne({ identifierKeys: key })) ?? undefined;
  }

  async findByStudyUid(studyInstanceUid: string): Promise<Exam | undefined> {
    return (await this.#writes.collection.findOne({ 'studies.studyInstanceUid': studyInstanceUid })) ?? undefined;
  }

  async findExams(query: ExamQuery): Promise<Page<Exam>> {
    return pageOf(this.#writes.collection, examFilter(query), query);
  }

  async findPatients(query: PatientQuery): Promise<Page<Patient>> {
    const filter: Record<string, unknown> = {};
    if (query.ids) filter['_id'] = { $in: query.ids };
    if (query.identifier) Object.assign(filter, identifierFilter(query.identifier));
    if (query.family) filter['name.family'] = { $regex: `^${escapeRegex(query.family)}`, $options: 'i' };
    if (query.birthDate) filter['birthDate'] = query.birthDate;
    if (query.updated?.length) filter['$and'] = query.updated.map((r) => ({ updatedAt: rangeFilter(r) }));
    if (query.facilities) {
      const ids = await this.#writes.collection.distinct('patientId', { facility: { $in: [...query.facilities] } });
      filter['_id'] = query.ids ? { $in: query.ids.filter((id) => ids.includes(id)) } : { $in: ids };
    }
    return pageOf(this.#patients.collection, filter, query);
  }
}

/** One page of a search and the total, without the history and outbox a list never shows. */
async function pageOf<T extends Document>(
  collection: HubCollection<T>,
  filter: Filter<T>,
  query: { sort?: ReadonlyArray<{ field: string; direction: 1 | -1 }>; skip?: number; limit?: number },
): Promise<Page<WithId<T>>> {
  const total = await collection.countDocuments(filter);
  if (query.limit === 0) return { total, items: [] };
  const items = await collection
    .find(filter, { projection: { history: 0, outbox: 0 } })
    .sort(sortSpec(query.sort))
    .skip(query.skip ?? 0)
    .limit(query.limit ?? 50)
    .toArray();
  return { total, items };
}

/** The requested order, then _id, so that pages never overlap or skip when sort keys tie. */
function sortSpec(sort: ReadonlyArray<{ field: string; direction: 1 | -1 }> | undefined): Record<string, 1 | -1> {
  const spec: Record<string, 1 | -1> = {};
  for (const s of sort ?? [{ field: 'createdAt', direction: -1 }]) spec[s.field] = s.direction;
  spec['_id'] = 1;
  return spec;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function rangeFilter(range: DateRange): Record<string, string> {
  const filter: Record<string, string> = {};
  if (range.from !== undefined) filter['$gte'] = range.from;
  if (range.before !== undefined) filter['$lt'] = range.before;
  return filter;
}

/** `identifiers.value` lets the store use its index; $elemMatch makes system and value match the same element. */
function identifierFilter(identifier: { system?: string; value: string }): Record<string, unknown> {
  const match =
    identifier.system === undefined
      ? { value: identifier.value }
      : { system: identifier.system, value: identifier.value };
  return { 'identifiers.value': identifier.value, identifiers: { $elemMatch: match } };
}

function examFilter(query: ExamQuery): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  const and: Array<Record<string, unknown>> = [];
  if (query.examNumbers) filter['_id'] = { $in: query.examNumbers };
  if (query.identifier) Object.assign(filter, identifierFilter(query.identifier));
  if (query.patientIds) filter['patientId'] = { $in: query.patientIds };
  if (query.statuses) filter['status'] = { $in: [...query.statuses] };
  if (query.facilities) filter['facility'] = { $in: [...query.facilities] };
  for (const range of query.created ?? []) and.push({ createdAt: rangeFilter(range) });
  for (const range of query.updated ?? []) and.push({ updatedAt: rangeFilter(range) });
  if (query.scheduled) and.push({ scheduledAt: rangeFilter(query.scheduled) });
  if (query.modalities) filter['modality'] = { $in: [...query.modalities] };
  if (and.length > 0) filter['$and'] = and;
  return filter;
}
