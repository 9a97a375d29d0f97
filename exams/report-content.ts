// What a report change writes besides its state: findings and impression, the author checked against the
// facility's radiologists, the transcriber, identifiers (only ever added), the reason, and for a signed state
// the signature. `null` in the input clears a field and lands in `unset` (a $set cannot remove a key).
import { InvalidInputError } from './errors.ts';
import { checkDateTime, type Exam } from './exam.ts';
import type { Facility } from './facility.ts';
import type { Report, ReportPerson, ReportState } from './report.ts';

/** Text and people of a report; `null` clears a field, an absent key leaves it. */
export interface ReportContent {
  findings?: string | null;
  impression?: string | null;
  /** A radiologist id of the exam's facility. */
  author?: string | null;
  /** The transcriber's id (a user name: facilities keep no transcriber list). */
  transcriber?: string | null;
  /** Added to the report's identifiers (a dictation system's report id): never removed. */
  identifiers?: Array<{ system: string; value: string }>;
}

/** The fields a change to `to` sets and removes, and the report as it will be. */
export function mergeContent(
  report: Report,
  to: ReportState,
  content: ReportContent,
  facility: Facility | undefined,
  exam: Exam,
  signedAt?: string,
  reason?: string,
): { set: Partial<Report>; unset: Array<keyof Report & string>; next: Report } {
  const set: Partial<Report> = { state: to };
  const unset: Array<keyof Report & string> = [];
  const next: Report = { ...report, state: to };
  for (const key of ['findings', 'impression'] as const) {
    const value = content[key];
    if (value === undefined) continue;
    if (value !== null && typeof value !== 'string') throw new InvalidInputError(key, 'expected text');
    const text = value?.trim() ? value : undefined;
    if (text === undefined) {
      unset.push(key);
      delete next[key];
    } else set[key] = next[key] = text;
  }
  if (content.author !== undefined) {
    const author = content.author === null ? undefined : radiologist(facility, exam, content.author);
    if (author === undefined) {
      unset.push('author');
      delete next.author;
    } else set.author = next.author = author;
  }
  if (content.transcriber !== undefined) {
    const transcriber = content.transcriber === null ? undefined : { id: String(content.transcriber) };
    if (transcriber === undefined) {
      unset.push('transcriber');
      delete next.transcriber;
    } else set.transcriber = next.transcriber = transcriber;
  }
  if (content.identifiers?.length) {
    const known = new Set(report.identifiers.map((id) => `${id.system}|${id.value}`));
    const added = content.identifiers.filter((id) => !known.has(`${id.system}|${id.value}`));
    for (const [i, id] of added.entries())
      if (!id.system || !id.value) throw new InvalidInputError(`identifiers[${i}]`, 'system and value are required');
    set.identifiers = next.identifiers = [
      ...report.identifiers,
      ...added.map(({ system, value }) => ({ system, value })),
    ];
  }
  if (reason !== undefined) set.reason = next.reason = reason.trim();
  if (to === 'final' || to === 'amended') {
    if (next.author === undefined)
      throw new InvalidInputError('author', `a ${to} report needs its author, a radiologist of ${exam.facility}`);
    if (!next.findings && !next.impression && next.documentId === undefined)
      throw new InvalidInputError('impression', `a ${to} report needs findings, an impression or a scanned document`);
    set.signedAt = next.signedAt = signedAt ? checkDateTime(signedAt, 'signedAt') : new Date().toISOString();
  }
  return { set, unset, next };
}

function radiologist(facility: Facility | undefined, exam: Exam, id: string): ReportPerson {
  const person = facility?.radiologists.find((r) => r.id === id);
  if (person === undefined)
    throw new InvalidInputError('author', `"${id}" is not a radiologist of facility ${exam.facility}`);
  return { id: person.id, name: person.name };
}
