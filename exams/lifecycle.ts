// The exam lifecycle of the RSO process (DESIGN.md "The RSO domain"): requested -> images received -> assigned
// -> reported (preliminary, final, amended) -> completed; cancelled; reactivated. The table below is the whole
// rule: a change not listed is refused with the reason, so HL7 and FHIR callers get the same answer.
export const examStatuses = [
  'requested',
  'images-received',
  'assigned',
  'preliminary',
  'final',
  'amended',
  'completed',
  'cancelled',
  'reactivated',
] as const;
export type ExamStatus = (typeof examStatuses)[number];

export type ReportStatus = 'preliminary' | 'final' | 'amended';

/** Statuses in which the exam is finished with; everything else is on the facility's active list. */
export const closedStatuses: readonly ExamStatus[] = ['completed', 'cancelled'];

/** The reported phase has three steps; a report of one of these kinds moves the exam to the same status. */
export const reportedStatuses: readonly ExamStatus[] = ['preliminary', 'final', 'amended'];

const allowed: Readonly<Record<ExamStatus, readonly ExamStatus[]>> = {
  // An order may be assigned before images arrive (a radiologist is booked ahead for a scheduled exam).
  requested: ['images-received', 'assigned', 'cancelled'],
  'images-received': ['assigned', 'cancelled'],
  // A radiologist may hand the exam back (unassign) or dictate a preliminary or a final report directly.
  assigned: ['images-received', 'preliminary', 'final', 'cancelled'],
  preliminary: ['final', 'cancelled'],
  // A final report is only changed by an amendment (addendum); it is never cancelled, it is completed.
  final: ['amended', 'completed'],
  amended: ['amended', 'completed'],
  // A completed or cancelled exam is reopened only through reactivation (the technician's exception list).
  completed: ['reactivated'],
  cancelled: ['reactivated'],
  reactivated: ['images-received', 'assigned', 'amended', 'completed', 'cancelled'],
};

export function isExamStatus(value: unknown): value is ExamStatus {
  return typeof value === 'string' && (examStatuses as readonly string[]).includes(value);
}

export function allowedNext(from: ExamStatus): readonly ExamStatus[] {
  return allowed[from];
}

/** undefined when the change is allowed, else the reason it is not. */
export function refusal(from: ExamStatus, to: ExamStatus): string | undefined {
  if (allowed[from].includes(to)) return undefined;
  const next = allowed[from];
  if (from === to) return `the exam is already ${from}`;
  return `from ${from} the exam may only become ${next.join(', ')}`;
}

export function isClosed(status: ExamStatus): boolean {
  return closedStatuses.includes(status);
}
