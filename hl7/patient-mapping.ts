// PID (v2.5.1 ch. 3.4.2) to the exam domain's PatientInput: identifiers from PID-3 (CX), the name from PID-5
// (XPN), the birth date from PID-7 and the administrative sex from PID-8. Shared by orders (ORM/OMI carry the
// patient) and ADT.
import type { PatientIdentifier, PatientInput, PersonName, Sex } from '../exams/patient.ts';
import { fieldText, repetitionCount, segmentLabel } from './field-text.ts';
import { hl7Date } from './hl7-dates.ts';
import { emptyField, Hl7MappingError } from './mapping-error.ts';
import type { Hl7Message } from './message.ts';

/** What the mapping knows about the sending facility: its code and the names its feeds use in CX-4/MSH-4. */
export interface FacilityNames {
  code: string;
  sendingFacilities: readonly string[];
}

// CX-5 identifier types (HL7 table 0203) that identify a patient record. National and personal numbers (SS,
// DL, PPN, NI…) and visit/account numbers (VN, AN) are left out on purpose: recordPatient joins every patient
// that holds any of the identifiers, and one mistyped SSN would join two people; an account is not a patient.
const recordTypes = new Set(['', 'MR', 'MRT', 'PI', 'PT']);

interface Candidate {
  id: PatientIdentifier;
  type: string;
  rank: number;
}

/**
 * Patient identifiers from a CX list (PID-3, MRG-1). The facility's own medical record number comes first: it
 * is the number the facility's later messages (and its DICOM PatientID) use. An empty CX-4 is common in
 * single-facility feeds; the identifier then belongs to the sending facility. `label` names the field in errors.
 */
export function identifiersFrom(message: Hl7Message, fieldPath: string, label: string, facility: FacilityNames): PatientIdentifier[] {
  const candidates: Candidate[] = [];
  const count = repetitionCount(message, fieldPath);
  let valued = 0;
  for (let r = 1; r <= count; r++) {
    const value = fieldText(message, `${fieldPath}[${r}].1`);
    if (value === undefined) continue;
    valued++;
    const system = fieldText(message, `${fieldPath}[${r}].4.1`) ?? fieldText(message, `${fieldPath}[${r}].4.2`) ?? fieldText(message, `${fieldPath}[${r}].6.1`) ?? facility.code;
    const type = (fieldText(message, `${fieldPath}[${r}].5`) ?? '').toUpperCase();
    if (!recordTypes.has(type)) continue;
    candidates.push({ id: { system, value, facility: facility.code }, type, rank: rankOf(system, type, facility) });
  }
  if (candidates.length === 0 && valued > 0) {
    throw new Hl7MappingError(label, `${label}: no patient record identifier (CX-5 MR, PI, PT or empty) among its ${valued} identifiers`);
  }
  const unique = new Map<string, Candidate>();
  for (const c of candidates.sort((a, b) => a.rank - b.rank)) unique.set(`${c.id.system}|${c.id.value}`, unique.get(`${c.id.system}|${c.id.value}`) ?? c);
  return [...unique.values()].map((c) => c.id);
}

function rankOf(system: string, type: string, facility: FacilityNames): number {
  const own = [facility.code, ...facility.sendingFacilities].some((name) => name.toUpperCase() === system.toUpperCase());
  const typeRank = type === 'MR' || type === 'MRT' ? 0 : type === '' ? 2 : 1;
  return (own ? 0 : 3) + typeRank;
}

/** PID-5: the legal name (XPN-7 `L`) when the sender sends several, else the first one. */
export function nameFrom(message: Hl7Message, pid: string): PersonName | undefined {
  const count = repetitionCount(message, `${pid}-5`);
  let chosen: number | undefined;
  for (let r = 1; r <= count; r++) {
    if (fieldText(message, `${pid}-5[${r}].1`) === undefined && fieldText(message, `${pid}-5[${r}].2`) === undefined) continue;
    chosen ??= r;
    if (fieldText(message, `${pid}-5[${r}].7`)?.toUpperCase() === 'L') {
      chosen = r;
      break;
    }
  }
  if (chosen === undefined) return undefined;
  // XPN-1 is ST in v2.3 and FN (surname&prefix…) from v2.4; the first subcomponent is the surname in both.
  const family = fieldText(message, `${pid}-5[${chosen}].1.1`);
  const given = [fieldText(message, `${pid}-5[${chosen}].2`), fieldText(message, `${pid}-5[${chosen}].3`)].filter((g): g is string => g !== undefined);
  return family === undefined ? { given } : { family, given };
}

// PID-8, HL7 table 0001 (user-defined, so sites add their own codes): A (ambiguous) is other, N (not
// applicable) and any site-specific code are unknown. The exam does not depend on it, so no code refuses an order.
const sexCodes: Readonly<Record<string, Sex>> = { M: 'male', F: 'female', O: 'other', A: 'other', U: 'unknown', N: 'unknown' };

export function sexFrom(code: string | undefined): Sex | undefined {
  if (code === undefined) return undefined;
  return sexCodes[code.toUpperCase()] ?? 'unknown';
}

/** The PatientInput of one PID segment (occurrence 1 unless given). PID-3 is required. */
export function patientFrom(message: Hl7Message, facility: FacilityNames, occurrence = 1): PatientInput {
  const pid = segmentLabel('PID', occurrence);
  const path = `PID[${occurrence}]`;
  if (message.segmentsNamed('PID').length < occurrence) throw new Hl7MappingError(pid, `${pid}: the message has no PID segment`);
  const identifiers = identifiersFrom(message, `${path}-3`, `${pid}-3`, facility);
  if (identifiers.length === 0) throw emptyField(`${pid}-3`);
  const patient: PatientInput = { identifiers };
  const name = nameFrom(message, path);
  if (name) patient.name = name;
  // v2.3 TS: the date is component 1 (component 2 is the deprecated degree of precision).
  const birth = fieldText(message, `${path}-7.1`);
  if (birth !== undefined) patient.birthDate = hl7Date(birth, `${pid}-7`);
  const sex = sexFrom(fieldText(message, `${path}-8`));
  if (sex) patient.sex = sex;
  return patient;
}
