// Finding reports: by exam, patient, state, date, identifier, with count and sort, for the FHIR
// DiagnosticReport search and the web app. The date of a report is when it was signed, or for an unsigned one
// when it was made (FHIR DiagnosticReport.issued); every sort ends with the id, so paging is stable.
import type { HubCollection } from '../store/db.ts';
import type { DateRange, Page } from './exam-queries.ts';
import type { Report, ReportState } from './report.ts';
import type { NamedKeys } from './versioned.ts';

/** A report as lists and searches return it: without its history, pending events and exam step. */
export type ReportSummary = Pick<Report, Exclude<NamedKeys<Report>, 'history' | 'outbox' | 'pendingExam'>>;

export const reportSortFields = ['createdAt', 'updatedAt', 'signedAt', '_id'] as const;
export type ReportSortField = (typeof reportSortFields)[number];

export interface ReportQuery {
  ids?: string[];
  /** The facilities the caller may see; undefined: all. */
  facilities?: readonly string[];
  patientIds?: string[];
  examNumbers?: string[];
  states?: ReportState[];
  /** Each range must hold (AND); see the file comment for which date. */
  dates?: DateRange[];
  identifier?: { system?: string; value: string };
  sort?: Array<{ field: ReportSortField; direction: 1 | -1 }>;
  skip?: number;
  limit?: number;
}

const summary = { history: 0, outbox: 0, pendingExam: 0 } as const;

export async function findReports(reports: HubCollection<Report>, query: ReportQuery): Promise<Page<ReportSummary>> {
  const filter = reportFilter(query);
  const sort: Record<string, 1 | -1> = {};
  for (const { field, direction } of query.sort ?? [{ field: 'createdAt', direction: -1 }]) sort[field] = direction;
  sort['_id'] ??= 1;
  const limit = query.limit ?? 20;
  const total = await reports.countDocuments(filter as never);
  const items =
    limit === 0
      ? []
      : await reports
          .find(filter as never, { projection: summary })
          .sort(sort)
          .skip(query.skip ?? 0)
          .limit(limit)
          .toArray();
  return { total, items };
}

export async function reportsOfExam(reports: HubCollection<Report>, examNumber: string): Promise<ReportSummary[]> {
  return reports
    .find({ examNumber } as never, { projection: summary })
    .sort({ createdAt: 1, _id: 1 })
    .toArray();
}

function reportFilter(query: ReportQuery): Record<string, unknown> {
  const and: Array<Record<string, unknown>> = [];
  if (query.ids) and.push({ _id: { $in: query.ids } });
  if (query.facilities) and.push({ facility: { $in: [...query.facilities] } });
  if (query.patientIds) and.push({ patientId: { $in: query.patientIds } });
  if (query.examNumbers) and.push({ examNumber: { $in: query.examNumbers } });
  if (query.states) and.push({ state: { $in: query.states } });
  for (const range of query.dates ?? []) {
    const bounds: Record<string, string> = {};
    if (range.from !== undefined) bounds['$gte'] = range.from;
    if (range.before !== undefined) bounds['$lt'] = range.before;
    and.push({ $or: [{ signedAt: bounds }, { signedAt: { $exists: false }, createdAt: bounds }] });
  }
  if (query.identifier) {
    const { system, value } = query.identifier;
    and.push({ identifiers: { $elemMatch: system === undefined ? { value } : { system, value } } });
  }
  return and.length === 0 ? {} : { $and: and };
}
