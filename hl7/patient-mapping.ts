// PID (v2.5.1 ch. 3.4.2) to the exam domain's PatientInput: identifiers from PID-3 (CX), the name from PID-5
// (XPN), the birth date from PID-7, the administrative sex from PID-8, address and telecom from PID-11/13/14.
// Shared by orders (ORM/OMI carry the patient) and ADT. CX-4 codes become URIs through the facility's
// identity systems, so the MRN reads the same in HL7, DICOM and FHIR.
import { authoritySystem, hl7TableSystem, type IdentitySystems } from '../exams/identity-systems.ts';
import type { NameUse, PatientIdentifier, PatientInput, PersonName, Sex } from '../exams/patient.ts';
import { addressesFrom, telecomFrom } from './contact-mapping.ts';
import { fieldText, repetitionCount, repetitionText, segmentLabel } from './field-text.ts';
import { hl7Date } from './hl7-dates.ts';
import { emptyField, Hl7MappingError } from './mapping-error.ts';
import type { Hl7Message } from './message.ts';

/** What the mapping knows about the sending facility: its code and the names its feeds use in CX-4/MSH-4. */
export interface FacilityNames {
  code: string;
  sendingFacilities: readonly string[];
  identitySystems?: IdentitySystems;
}

// CX-5 identifier types (HL7 table 0203) that identify a patient record. National and personal numbers (SS,
// DL, PPN, NI…) and visit/account numbers (VN, AN) are left out on purpose: recordPatient joins every patient
// that holds any of the identifiers, and one mistyped SSN would join two people; an account is not a patient.
const recordTypes = new Set(['', 'MR', 'MRT', 'PI', 'PT']);

interface Candidate {
  id: PatientIdentifier;
  rank: number;
}

/**
 * Patient identifiers from a CX list (PID-3, MRG-1). The facility's own medical record number comes first: it
 * is the number the facility's later messages (and its DICOM PatientID) use. An empty CX-4 is common in
 * single-facility feeds; the identifier then belongs to the sending facility. `label` names the field in errors.
 */
export function identifiersFrom(
  message: Hl7Message,
  fieldPath: string,
  label: string,
  facility: FacilityNames,
): PatientIdentifier[] {
  const candidates: Candidate[] = [];
  const count = repetitionCount(message, fieldPath);
  let valued = 0;
  for (let r = 1; r <= count; r++) {
    const value = fieldText(message, `${fieldPath}[${r}].1`);
    if (value === undefined) continue;
    valued++;
    const authority = authorityOf(message, `${fieldPath}[${r}]`);
    const type = (fieldText(message, `${fieldPath}[${r}].5`) ?? '').toUpperCase();
    if (!recordTypes.has(type)) continue;
    const id: PatientIdentifier = { system: authoritySystem(facility, authority), value, facility: facility.code };
    if (type !== '') id.type = { system: hl7TableSystem('0203'), code: type };
    candidates.push({ id, rank: rankOf(authority ?? facility.code, type, facility) });
  }
  if (candidates.length === 0 && valued > 0) {
    throw new Hl7MappingError(
      label,
      `${label}: no patient record identifier (CX-5 MR, PI, PT or empty) among its ${valued} identifiers`,
    );
  }
  const unique = new Map<string, Candidate>();
  for (const c of candidates.sort((a, b) => a.rank - b.rank))
    unique.set(`${c.id.system}|${c.id.value}`, unique.get(`${c.id.system}|${c.id.value}`) ?? c);
  return [...unique.values()].map((c) => c.id);
}

/**
 * The assigning authority's code: CX-4.1 (HD namespace id), else CX-4.2 (universal id: an OID or a URI, which
 * identity-systems.ts keeps as such), else CX-6.1, the assigning facility. Undefined: the facility's own.
 */
function authorityOf(message: Hl7Message, cx: string): string | undefined {
  return fieldText(message, `${cx}.4.1`) ?? fieldText(message, `${cx}.4.2`) ?? fieldText(message, `${cx}.6.1`);
}

function rankOf(system: string, type: string, facility: FacilityNames): number {
  const own = [facility.code, ...facility.sendingFacilities].some(
    (name) => name.toUpperCase() === system.toUpperCase(),
  );
  const typeRank = type === 'MR' || type === 'MRT' ? 0 : type === '' ? 2 : 1;
  return (own ? 0 : 3) + typeRank;
}

/** PID-5: the legal name (XPN-7 `L`) when the sender sends several, else the first one. */
export function nameFrom(message: Hl7Message, pid: string): PersonName | undefined {
  const count = repetitionCount(message, `${pid}-5`);
  let chosen: number | undefined;
  for (let r = 1; r <= count; r++) {
    if (
      repetitionText(message, `${pid}-5.1`, r) === undefined &&
      repetitionText(message, `${pid}-5.2`, r) === undefined
    )
      continue;
    chosen ??= r;
    if (repetitionText(message, `${pid}-5.7`, r)?.toUpperCase() === 'L') {
      chosen = r;
      break;
    }
  }
  if (chosen === undefined) return undefined;
  // XPN-1 is ST in v2.3 and FN (surname&prefix…) from v2.4; the first subcomponent is the surname in both.
  const family = fieldText(message, `${pid}-5[${chosen}].1.1`);
  const given = [fieldText(message, `${pid}-5[${chosen}].2`), fieldText(message, `${pid}-5[${chosen}].3`)].filter(
    (g): g is string => g !== undefined,
  );
  const name: PersonName = family === undefined ? { given } : { family, given };
  const use = nameUses[fieldText(message, `${pid}-5[${chosen}].7`)?.toUpperCase() ?? ''];
  if (use !== undefined) name.use = use;
  return name;
}

// XPN-7 name type (HL7 table 0200) -> R4 name-use, as the v2-to-FHIR mapping has it; others stay without a use.
const nameUses: Readonly<Record<string, NameUse>> = {
  L: 'official',
  D: 'usual',
  M: 'maiden',
  N: 'nickname',
  S: 'anonymous',
  T: 'temp',
};

// PID-8, HL7 table 0001 (user-defined, so sites add their own codes): A (ambiguous) is other, N (not
// applicable) and any site-specific code are unknown. The exam does not depend on it, so no code refuses an order.
const sexCodes: Readonly<Record<string, Sex>> = {
  M: 'male',
  F: 'female',
  O: 'other',
  A: 'other',
  U: 'unknown',
  N: 'unknown',
};

export function sexFrom(code: string | undefined): Sex | undefined {
  if (code === undefined) return undefined;
  return sexCodes[code.toUpperCase()] ?? 'unknown';
}

/** The PatientInput of one PID segment (occurrence 1 unless given). PID-3 is required. */
export function patientFrom(message: Hl7Message, facility: FacilityNames, occurrence = 1): PatientInput {
  const pid = segmentLabel('PID', occurrence);
  const path = `PID[${occurrence}]`;
  if (message.segmentsNamed('PID').length < occurrence)
    throw new Hl7MappingError(pid, `${pid}: the message has no PID segment`);
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
  const address = addressesFrom(message, path);
  if (address.length > 0) patient.address = address;
  const telecom = [...telecomFrom(message, `${path}-13`, 'home'), ...telecomFrom(message, `${path}-14`, 'work')];
  if (telecom.length > 0) patient.telecom = telecom;
  return patient;
}
