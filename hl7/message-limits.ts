// Limits on the shape of one HL7 message, checked by the MLLP source right after parsing and before anything
// else spends time on the message (issue 10: an ORM whose PID-3 repeated 100,000 times stalled the hub). A
// message over a limit is stored as errored and answered AE (ch. 2.9.2: the content, not the header, is what
// the hub cannot take), with an ERR naming the limit and where it was passed. Counting is one pass over the text.
import { maxPatientIdentifiers } from '../exams/patient.ts';
import { expectInteger, expectKeys, expectObject, join } from '../runtime/validate.ts';
import { errorCodes, type AckError } from './ack.ts';
import { segmentLabel } from './field-text.ts';
import type { Hl7Message } from './message.ts';

export interface Hl7Limits {
  /** Segments in one message, MSH included. */
  maxSegments: number;
  /** Repetitions of any one field (ch. 2.5.3, the `~` separator). */
  maxRepetitions: number;
  /** Repetitions of a patient identifier list: PID-3 and MRG-1 (ch. 3.4.2.3, 3.4.9.1). */
  maxIdentifiersPerPatient: number;
}

// Generous for real orders and ADT (a few segments per order, a handful of identifiers), small enough that
// the mapping and the store never see a message that takes them more than milliseconds.
export const defaultHl7Limits: Readonly<Hl7Limits> = {
  maxSegments: 5000,
  maxRepetitions: 1000,
  maxIdentifiersPerPatient: 100,
};

const limitKeys = ['maxSegments', 'maxRepetitions', 'maxIdentifiersPerPatient'] as const;

/** The `limits` of an MLLP source's settings; keys left out keep their defaults. */
export function parseHl7Limits(input: unknown, path: string): Hl7Limits {
  if (input === undefined) return { ...defaultHl7Limits };
  const value = expectObject(input, path);
  expectKeys(value, path, limitKeys);
  const read = (key: (typeof limitKeys)[number], max: number): number =>
    value[key] === undefined ? defaultHl7Limits[key] : expectInteger(value[key], join(path, key), 1, max);
  return {
    maxSegments: read('maxSegments', 1_000_000),
    maxRepetitions: read('maxRepetitions', 1_000_000),
    // The exam domain holds no more than this per patient, whatever the source lets through.
    maxIdentifiersPerPatient: read('maxIdentifiersPerPatient', maxPatientIdentifiers),
  };
}

/** Patient identifier lists, by segment: PID-3 and MRG-1. */
const identifierFields: Readonly<Record<string, number>> = { PID: 3, MRG: 1 };

/** The first limit the message passes, as the ERR to answer with, or undefined when it keeps to all of them. */
export function limitProblem(message: Hl7Message, limits: Hl7Limits): AckError | undefined {
  const { segments } = message;
  const occurrences = new Map<string, number>();
  for (let s = 0; s < segments.length; s++) {
    const fields = segments[s]!.fields;
    const name = fields[0] ?? '';
    const occurrence = (occurrences.get(name) ?? 0) + 1;
    occurrences.set(name, occurrence);
    if (s === limits.maxSegments) {
      const text = `the message has ${segments.length} segments; the limit maxSegments is ${limits.maxSegments}`;
      return {
        condition: errorCodes.applicationInternalError,
        text,
        location: { segment: name, sequence: occurrence },
      };
    }
    // MSH-1 and MSH-2 are the delimiters themselves (MSH-2 holds the repetition separator).
    for (let f = name === 'MSH' ? 3 : 1; f < fields.length; f++) {
      const identifiers = identifierFields[name] === f;
      const limit = identifiers
        ? Math.min(limits.maxIdentifiersPerPatient, limits.maxRepetitions)
        : limits.maxRepetitions;
      const count = countRepetitions(fields[f]!, message.delimiters.repetition, limit);
      if (count <= limit) continue;
      const label = `${segmentLabel(name, occurrence)}-${f}`;
      const limitName =
        identifiers && limit === limits.maxIdentifiersPerPatient ? 'maxIdentifiersPerPatient' : 'maxRepetitions';
      const text = `${label} has more than ${limit} repetitions; the limit ${limitName} is ${limit}`;
      return {
        condition: errorCodes.applicationInternalError,
        text,
        location: { segment: name, sequence: occurrence, field: f },
      };
    }
  }
  return undefined;
}

/** Repetitions in a field's text, counted up to one past `limit` (there is no need to count further). */
function countRepetitions(text: string, separator: string, limit: number): number {
  if (text === '') return 0;
  let count = 1;
  for (let at = text.indexOf(separator); at >= 0 && count <= limit; at = text.indexOf(separator, at + 1)) count++;
  return count;
}
