// Why an HL7 message cannot become exam commands: a field is empty, malformed or holds a value the hub does not
// take. Permanent by nature (the same message fails the same way on every retry), so the rso-exams destination
// answers `failed` with the text, which names the field the way an interface analyst reads it (`PID-3 is empty`),
// and its check refuses the message before the ACK with the `problem` (exam-check.ts turns it into AE or AR).

/** What is wrong, sorted as HL7 table 0357 sorts message errors. */
export type MappingProblem =
  /** A segment the message structure needs is not there (100). */
  | 'segment-missing'
  /** A field the hub needs is empty (101). */
  | 'field-missing'
  /** A value is not of its data type: a date that is no date, a UID that is no UID (102). */
  | 'malformed'
  /** A coded value is not in its table (103), e.g. a priority. */
  | 'unknown-code'
  /** A code the hub understands but has no action for (103, answered AR), e.g. ORC-1 RP. */
  | 'unsupported-code'
  /** A message type or trigger event the rso-exams destination does not handle (200, 201). */
  | 'unsupported-type'
  | 'unsupported-event'
  /** MSH-4 names no facility of the hub (103, answered AR: the hub does not serve that sender). */
  | 'unknown-sender'
  /** An order the command needs does not exist (204). */
  | 'unknown-order'
  /** An order number is held by another exam or patient (205). */
  | 'duplicate-order';

export class Hl7MappingError extends Error {
  /** The HL7 field the error is about, e.g. `PID-3`, `ORC[2]-1`, `MSH-4`; a segment alone (`PID`) when missing. */
  readonly field: string;
  readonly problem: MappingProblem;
  /** Without a `problem`, an error about a whole segment is a missing segment, any other a malformed value. */
  constructor(field: string, message: string, problem?: MappingProblem) {
    super(message);
    this.name = 'Hl7MappingError';
    this.field = field;
    this.problem = problem ?? (/^[A-Z][A-Z0-9]{2}(\[\d+\])?$/.test(field) ? 'segment-missing' : 'malformed');
  }
}

export function emptyField(field: string, what?: string): Hl7MappingError {
  const text = what === undefined ? `${field} is empty` : `${field} is empty (${what})`;
  return new Hl7MappingError(field, text, 'field-missing');
}
