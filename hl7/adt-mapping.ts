// ADT to patient commands (v2.5.1 ch. 3): registrations and updates (A01, A04, A05, A08, A28, A31) record the
// patient's demographics; A40 (merge patient – patient identifier list, ch. 3.3.40) merges the patient named in
// MRG-1 (the one that disappears) into the patient of the PID (the survivor). Pure: no I/O.
import type { PatientIdentifier, PatientInput } from '../exams/patient.ts';
import { fieldText, segmentLabel } from './field-text.ts';
import { emptyField, Hl7MappingError } from './mapping-error.ts';
import type { Hl7Message } from './message.ts';
import type { MappingContext } from './order-mapping.ts';
import { identifiersFrom, patientFrom } from './patient-mapping.ts';

export const patientEvents = ['A01', 'A04', 'A05', 'A08', 'A28', 'A31'] as const;

export interface MappedPatient {
  kind: 'patient';
  event: string;
  patient: PatientInput;
}

export interface MergeRequest {
  /** The PID: the patient that remains. */
  survivor: PatientInput;
  /** MRG-1: identifiers of the patient that disappears into the survivor. */
  prior: PatientIdentifier[];
  /** `MRG` or `MRG[2]`, for errors and responses. */
  at: string;
}

export interface MappedMerge {
  kind: 'merge';
  event: string;
  merges: MergeRequest[];
}

export type MappedAdt = MappedPatient | MappedMerge;

export function mapAdt(message: Hl7Message, event: string, context: MappingContext): MappedAdt {
  if ((patientEvents as readonly string[]).includes(event))
    return { kind: 'patient', event, patient: patientFrom(message, context.facility) };
  if (event === 'A40') return { kind: 'merge', event, merges: mergesOf(message, context) };
  throw new Hl7MappingError(
    'MSH-9',
    `MSH-9: ADT^${event} is not handled by the rso-exams destination (handled: ${[...patientEvents, 'A40'].join(', ')})`,
    'unsupported-event',
  );
}

/** A40 repeats {PID, [PD1], MRG, [PV1]}: the n-th MRG belongs to the n-th PID. */
function mergesOf(message: Hl7Message, context: MappingContext): MergeRequest[] {
  const pids = message.segmentsNamed('PID').length;
  const mrgs = message.segmentsNamed('MRG').length;
  if (pids === 0) throw new Hl7MappingError('PID', 'PID: the message has no PID segment');
  if (mrgs !== pids)
    throw new Hl7MappingError('MRG', `MRG: expected one MRG for each of the ${pids} PID segments, found ${mrgs}`);
  const merges: MergeRequest[] = [];
  for (let n = 1; n <= pids; n++) {
    const at = segmentLabel('MRG', n);
    // MRG-1 is the prior patient identifier list; v2.3 senders sometimes fill only MRG-4 (prior patient ID).
    const field =
      fieldText(message, `MRG[${n}]-1.1`) !== undefined
        ? 1
        : fieldText(message, `MRG[${n}]-4.1`) !== undefined
          ? 4
          : undefined;
    if (field === undefined) throw emptyField(`${at}-1`, 'the prior patient identifier list');
    const prior = identifiersFrom(message, `MRG[${n}]-${field}`, `${at}-${field}`, context.facility);
    if (prior.length === 0) throw emptyField(`${at}-1`, 'the prior patient identifier list');
    merges.push({ survivor: patientFrom(message, context.facility, n), prior, at });
  }
  return merges;
}
