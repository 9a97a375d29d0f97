// FHIR Patient <-> the domain patient. The FHIR resource is a view of the stored patient, never a copy:
// reading Patient/{id} renders the patient the HL7 ADT feed recorded.
import type { Identifier, Patient as FhirPatient, PatientLink } from '@medplum/fhirtypes';
import type { Patient, PatientIdentifier, PatientInput, Sex } from '../exams/patient.ts';
import { fhirError } from './outcome.ts';
import { facilitySystem } from './systems.ts';

export function toFhirPatient(patient: Patient): FhirPatient {
  const resource: FhirPatient = {
    resourceType: 'Patient',
    id: patient._id,
    meta: { versionId: String(patient.version), lastUpdated: patient.updatedAt },
    identifier: patient.identifiers.map(toFhirIdentifier),
    active: patient.mergedInto === undefined,
  };
  if (patient.name.family !== undefined || patient.name.given.length > 0) {
    resource.name = [{ ...(patient.name.family === undefined ? {} : { family: patient.name.family }), ...(patient.name.given.length > 0 ? { given: patient.name.given } : {}) }];
  }
  if (patient.sex) resource.gender = patient.sex;
  if (patient.birthDate) resource.birthDate = patient.birthDate;
  const links: PatientLink[] = [];
  // R4 Patient.link: the merged record points at the survivor (replaced-by), the survivor back (replaces).
  if (patient.mergedInto !== undefined) links.push({ other: { reference: `Patient/${patient.mergedInto}` }, type: 'replaced-by' });
  for (const id of patient.replaces ?? []) links.push({ other: { reference: `Patient/${id}` }, type: 'replaces' });
  if (links.length > 0) resource.link = links;
  return resource;
}

function toFhirIdentifier(id: PatientIdentifier): Identifier {
  const identifier: Identifier = { system: id.system, value: id.value };
  if (id.facility !== undefined) identifier.assigner = { identifier: { system: facilitySystem, value: id.facility } };
  return identifier;
}

/** `at` is the FHIRPath of the resource (`Patient` or `Bundle.entry[0].resource`) for error expressions. */
export function fromFhirPatient(resource: FhirPatient, at = 'Patient'): PatientInput {
  const identifiers = (resource.identifier ?? []).map((id, i): PatientIdentifier => {
    if (!id.system) throw fhirError(422, 'required', 'every patient identifier needs a system (the assigning authority)', `${at}.identifier[${i}].system`);
    if (!id.value) throw fhirError(422, 'required', 'every patient identifier needs a value', `${at}.identifier[${i}].value`);
    const facility = id.assigner?.identifier?.system === facilitySystem ? id.assigner.identifier.value : undefined;
    return facility === undefined ? { system: id.system, value: id.value } : { system: id.system, value: id.value, facility };
  });
  if (identifiers.length === 0) throw fhirError(422, 'required', 'a patient needs at least one identifier (e.g. the facility MRN)', `${at}.identifier`);
  const input: PatientInput = { identifiers };
  const name = resource.name?.find((n) => n.use === 'official') ?? resource.name?.[0];
  if (name) input.name = { ...(name.family === undefined ? {} : { family: name.family }), given: name.given ?? [] };
  if (resource.birthDate) input.birthDate = resource.birthDate;
  if (resource.gender) input.sex = resource.gender as Sex;
  return input;
}
