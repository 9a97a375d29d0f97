// The error every HL7 v2 reader here throws for text it cannot read (a message, a path, a JSON form of a message),
// so callers tell "the input is wrong" (answered AR/AE, ch. 2.9.2) from a failure of ours with one instanceof.
export class Hl7ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Hl7ParseError';
  }
}
