// Why an HL7 message cannot become exam commands: a field is empty, malformed or holds a value the hub does not
// take. Permanent by nature (the same message fails the same way on every retry), so the rso-exams destination
// answers `failed` with the text, which names the field the way an interface analyst reads it (`PID-3 is empty`).
export class Hl7MappingError extends Error {
  /** The HL7 field the error is about, e.g. `PID-3`, `ORC[2]-1`, `MSH-4`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'Hl7MappingError';
    this.field = field;
  }
}

export function emptyField(field: string, what?: string): Hl7MappingError {
  return new Hl7MappingError(field, what === undefined ? `${field} is empty` : `${field} is empty (${what})`);
}
