// FHIR Patient <-> the domain patient. The FHIR resource is a view of the stored patient, never a copy:
// reading Patient/{id} renders the patient the HL7 ADT feed recorded. What the domain cannot hold is listed in
// patientElementsNotKept (the CapabilityStatement says so), so nothing is dropped without notice.
import type {
  Address as FhirAddress,
  CodeableConcept,
  ContactPoint,
  HumanName,
  Identifier,
  Patient as FhirPatient,
  PatientLink,
} from '@medplum/fhirtypes';
import type {
  Address,
  Concept,
  Patient,
  PatientIdentifier,
  PatientInput,
  PersonName,
  Sex,
  Telecom,
} from '../exams/patient.ts';
import { fhirError } from './outcome.ts';
import { facilitySystem } from './systems.ts';

/** Patient elements a write accepts but the hub does not keep (R4 names), for the CapabilityStatement. */
export const patientElementsNotKept = [
  'name (all but the official one, else the first)',
  'name.text, name.prefix, name.suffix, name.period',
  'identifier.use, identifier.period',
  'identifier.type and code.coding beyond the first coding',
  'telecom.rank, telecom.period',
  'address.period',
  'text, extension, contained',
  'deceased[x], maritalStatus, multipleBirth[x], photo, contact, communication, generalPractitioner, managingOrganization',
] as const;

export function toFhirPatient(patient: Patient): FhirPatient {
  const resource: FhirPatient = {
    resourceType: 'Patient',
    id: patient._id,
    meta: { versionId: String(patient.version), lastUpdated: patient.updatedAt },
    identifier: patient.identifiers.map(toFhirIdentifier),
    active: patient.mergedInto === undefined,
  };
  if (patient.name.family !== undefined || patient.name.given.length > 0) resource.name = [toHumanName(patient.name)];
  if (patient.telecom?.length) resource.telecom = patient.telecom.map((t): ContactPoint => ({ ...t }));
  if (patient.sex) resource.gender = patient.sex;
  if (patient.birthDate) resource.birthDate = patient.birthDate;
  if (patient.address?.length)
    resource.address = patient.address.map((a): FhirAddress => ({ ...a, ...(a.line ? { line: [...a.line] } : {}) }));
  const links: PatientLink[] = [];
  // R4 Patient.link: the merged record points at the survivor (replaced-by), the survivor back (replaces).
  if (patient.mergedInto !== undefined)
    links.push({ other: { reference: `Patient/${patient.mergedInto}` }, type: 'replaced-by' });
  for (const id of patient.replaces ?? []) links.push({ other: { reference: `Patient/${id}` }, type: 'replaces' });
  if (links.length > 0) resource.link = links;
  return resource;
}

function toHumanName(name: PersonName): HumanName {
  const human: HumanName = {};
  if (name.use !== undefined) human.use = name.use;
  if (name.family !== undefined) human.family = name.family;
  if (name.given.length > 0) human.given = [...name.given];
  return human;
}

function toFhirIdentifier(id: PatientIdentifier): Identifier {
  const identifier: Identifier = { system: id.system, value: id.value };
  if (id.type !== undefined) identifier.type = toCodeableConcept(id.type);
  if (id.facility !== undefined) identifier.assigner = { identifier: { system: facilitySystem, value: id.facility } };
  return identifier;
}

export function toCodeableConcept(concept: Concept): CodeableConcept {
  const { text, ...coding } = concept;
  const result: CodeableConcept = {};
  if (coding.code !== undefined || coding.system !== undefined || coding.display !== undefined)
    result.coding = [coding];
  if (text !== undefined) result.text = text;
  return result;
}

/** The first coding and the text: what Concept holds. Undefined when neither has anything. */
export function fromCodeableConcept(concept: CodeableConcept | undefined): Concept | undefined {
  const coding = concept?.coding?.[0];
  const result: Concept = {};
  if (coding?.system) result.system = coding.system;
  if (coding?.code) result.code = coding.code;
  if (coding?.display) result.display = coding.display;
  if (concept?.text) result.text = concept.text;
  return Object.keys(result).length > 0 ? result : undefined;
}

/** `at` is the FHIRPath of the resource (`Patient` or `Bundle.entry[0].resource`) for error expressions. */
export function fromFhirPatient(resource: FhirPatient, at = 'Patient'): PatientInput {
  const identifiers = (resource.identifier ?? []).map((id, i): PatientIdentifier => {
    if (!id.system)
      throw fhirError(
        422,
        'required',
        'every patient identifier needs a system (the assigning authority)',
        `${at}.identifier[${i}].system`,
      );
    if (!id.value)
      throw fhirError(422, 'required', 'every patient identifier needs a value', `${at}.identifier[${i}].value`);
    const identifier: PatientIdentifier = { system: id.system, value: id.value };
    const facility = id.assigner?.identifier?.system === facilitySystem ? id.assigner.identifier.value : undefined;
    if (facility !== undefined) identifier.facility = facility;
    const type = fromCodeableConcept(id.type);
    if (type !== undefined) identifier.type = type;
    return identifier;
  });
  if (identifiers.length === 0)
    throw fhirError(
      422,
      'required',
      'a patient needs at least one identifier (e.g. the facility MRN)',
      `${at}.identifier`,
    );
  const input: PatientInput = { identifiers };
  const name = resource.name?.find((n) => n.use === 'official') ?? resource.name?.[0];
  if (name)
    input.name = {
      ...(name.family === undefined ? {} : { family: name.family }),
      given: name.given ?? [],
      ...(name.use === undefined ? {} : { use: name.use }),
    };
  if (resource.birthDate) input.birthDate = resource.birthDate;
  if (resource.gender) input.sex = resource.gender as Sex;
  const telecom = (resource.telecom ?? []).flatMap(fromContactPoint);
  if (telecom.length > 0) input.telecom = telecom;
  const address = (resource.address ?? []).flatMap(fromAddress);
  if (address.length > 0) input.address = address;
  return input;
}

/** A contact point without a value says nothing the hub could use (R4 cpt-2 requires a system with a value). */
function fromContactPoint(point: ContactPoint): Telecom[] {
  if (!point.value) return [];
  const telecom: Telecom = { value: point.value };
  if (point.system) telecom.system = point.system;
  if (point.use) telecom.use = point.use;
  return [telecom];
}

function fromAddress(address: FhirAddress): Address[] {
  const kept: Address = {};
  if (address.use) kept.use = address.use;
  if (address.type) kept.type = address.type;
  if (address.line?.length) kept.line = [...address.line];
  for (const key of ['text', 'city', 'district', 'state', 'postalCode', 'country'] as const) {
    const value = address[key];
    if (value) kept[key] = value;
  }
  return Object.keys(kept).length > 0 ? [kept] : [];
}
