// FHIR ServiceRequest <-> exam, both ways. A ServiceRequest is a view of an exam (id = exam number), so an exam
// created by an HL7 ORM reads as a ServiceRequest, and a ServiceRequest created here is an exam HL7 and DICOM
// see. The exact lifecycle status travels in an extension; ServiceRequest.status carries the closest R4 code.
// What the exam cannot hold is listed in serviceRequestElementsNotKept (the CapabilityStatement says so).
import type { CodeableConcept, Coding, Extension, Identifier, Reference, ServiceRequest } from '@medplum/fhirtypes';
import type { Exam, ExamIdentifier, OrderInput, Priority } from '../exams/exam.ts';
import { isExamStatus, type ExamStatus } from '../exams/lifecycle.ts';
import { fhirError } from './outcome.ts';
import { fromCodeableConcept, toCodeableConcept } from './patient-mapping.ts';
import { dicomSystem, examNumberSystem, examStatusExtension, facilitySystem, identifierTypeSystem } from './systems.ts';

export type RequestStatus = ServiceRequest['status'];

/** ServiceRequest elements a write accepts but the hub does not keep (R4 names), for the CapabilityStatement. */
export const serviceRequestElementsNotKept = [
  'code.coding beyond the first coding with a code',
  'category.coding beyond the first coding of each category',
  'orderDetail other than the DICOM modality; reasonCode beyond the first text; reasonReference',
  'identifier.use, identifier.period, identifier.assigner',
  'requester other than the ordering facility; performer, performerType, locationCode, locationReference',
  'occurrencePeriod, occurrenceTiming, asNeeded[x], quantity[x], bodySite, specimen, insurance, supportingInfo',
  'note, patientInstruction, relevantHistory, replaces, requisition, basedOn, encounter, doNotPerform',
  'text, extension (but the exam status), contained',
] as const;

const requestStatusOf: Record<ExamStatus, RequestStatus> = {
  requested: 'active',
  'images-received': 'active',
  assigned: 'active',
  preliminary: 'active',
  reactivated: 'active',
  final: 'completed',
  amended: 'completed',
  completed: 'completed',
  cancelled: 'revoked',
};

export function requestStatus(status: ExamStatus): RequestStatus {
  return requestStatusOf[status];
}

/** The exam statuses a `status` search value matches. */
export function examStatusesFor(status: string): ExamStatus[] {
  return (Object.keys(requestStatusOf) as ExamStatus[]).filter((s) => requestStatusOf[s] === status);
}

const typeCode: Record<Exclude<ExamIdentifier['kind'], 'external'>, { code: string; display: string }> = {
  placer: { code: 'PLAC', display: 'Placer Identifier' },
  filler: { code: 'FILL', display: 'Filler Identifier' },
  accession: { code: 'ACSN', display: 'Accession ID' },
};

export type FacilityNames = (code: string) => string | undefined;

export function toServiceRequest(exam: Omit<Exam, 'history' | 'outbox'>, facilityName?: FacilityNames): ServiceRequest {
  const { procedure } = exam;
  // Exams stored before Procedure.display existed have only the text, which was the coding's display.
  const display = procedure.display ?? procedure.text;
  const coding: Coding = {
    code: procedure.code,
    ...(procedure.system ? { system: procedure.system } : {}),
    ...(display ? { display } : {}),
  };
  const code: CodeableConcept = { coding: [coding] };
  if (procedure.text) code.text = procedure.text;
  const facilityDisplay = facilityName?.(exam.facility);
  const resource: ServiceRequest = {
    resourceType: 'ServiceRequest',
    id: exam.examNumber,
    meta: { versionId: String(exam.version), lastUpdated: exam.updatedAt },
    extension: [{ url: examStatusExtension, valueCode: exam.status }],
    identifier: [{ system: examNumberSystem, value: exam.examNumber }, ...exam.identifiers.map(toFhirIdentifier)],
    status: requestStatus(exam.status),
    intent: 'order',
    priority: exam.priority,
    code,
    subject: { reference: `Patient/${exam.patientId}` },
    authoredOn: exam.authoredOn ?? exam.createdAt,
    requester: {
      identifier: { system: facilitySystem, value: exam.facility },
      ...(facilityDisplay ? { display: facilityDisplay } : {}),
    },
  };
  if (procedure.category?.length) resource.category = procedure.category.map(toCodeableConcept);
  if (exam.modality) resource.orderDetail = [{ coding: [{ system: dicomSystem, code: exam.modality }] }];
  if (exam.scheduledAt) resource.occurrenceDateTime = exam.scheduledAt;
  if (exam.reason) resource.reasonCode = [{ text: exam.reason }];
  return resource;
}

function toFhirIdentifier(id: ExamIdentifier): Identifier {
  const identifier: Identifier = { value: id.value };
  if (id.system !== undefined) identifier.system = id.system;
  if (id.kind !== 'external') identifier.type = { coding: [{ system: identifierTypeSystem, ...typeCode[id.kind] }] };
  return identifier;
}

/** Who the order is for, before it is resolved to a stored patient. */
export type SubjectRef =
  | { kind: 'id'; id: string }
  | { kind: 'urn'; urn: string }
  | { kind: 'identifier'; system: string; value: string };

export interface MappedOrder {
  order: Omit<OrderInput, 'patient'>;
  subject: SubjectRef;
  /** The exam status the resource asks for (extension first, else derived from status); see targetStatus. */
  status: RequestStatus;
  examStatus?: ExamStatus;
}

export interface MappingContext {
  /** The facility to use when the resource names none (a token limited to one facility). */
  defaultFacility?: string;
}

/** `at` is the FHIRPath of the resource for error expressions. */
export function fromServiceRequest(
  resource: ServiceRequest,
  at = 'ServiceRequest',
  context: MappingContext = {},
): MappedOrder {
  const facility = facilityOf(resource.requester, at) ?? context.defaultFacility;
  if (!facility)
    throw fhirError(
      422,
      'required',
      `the ordering facility is required: requester.identifier with system ${facilitySystem}`,
      `${at}.requester`,
    );
  const order: Omit<OrderInput, 'patient'> = {
    facility,
    procedure: procedureOf(resource.code, at),
    identifiers: identifiersOf(resource.identifier ?? [], at),
  };
  if (resource.priority) order.priority = resource.priority as Priority;
  const modality = resource.orderDetail?.flatMap((d) => d.coding ?? []).find((c) => c.system === dicomSystem)?.code;
  if (modality) order.modality = modality;
  if (resource.occurrenceDateTime) order.scheduledAt = resource.occurrenceDateTime;
  if (resource.authoredOn) order.authoredOn = resource.authoredOn;
  const category = (resource.category ?? []).flatMap((c) => fromCodeableConcept(c) ?? []);
  if (category.length > 0) order.procedure.category = category;
  const reason = resource.reasonCode?.[0]?.text ?? resource.reasonCode?.[0]?.coding?.[0]?.display;
  if (reason) order.reason = reason;
  const mapped: MappedOrder = { order, subject: subjectOf(resource.subject, at), status: resource.status };
  const examStatus = examStatusOf(resource.extension, at);
  if (examStatus) mapped.examStatus = examStatus;
  return mapped;
}

/**
 * The exam status an update asks for, or undefined for "leave it". The extension wins (it is exact); else a
 * change of ServiceRequest.status: revoked cancels, completed completes, active reopens a closed exam.
 */
export function targetStatus(current: ExamStatus, mapped: MappedOrder, at = 'ServiceRequest'): ExamStatus | undefined {
  if (mapped.examStatus !== undefined && mapped.examStatus !== current) return mapped.examStatus;
  if (mapped.status === requestStatus(current)) return undefined;
  switch (mapped.status) {
    case 'revoked':
    case 'entered-in-error':
      return 'cancelled';
    case 'completed':
      return 'completed';
    case 'active':
      return 'reactivated';
    default:
      throw fhirError(
        422,
        'business-rule',
        `status ${mapped.status} is not supported for an exam (use active, completed or revoked)`,
        `${at}.status`,
      );
  }
}

function facilityOf(requester: Reference | undefined, at: string): string | undefined {
  if (!requester) return undefined;
  if (requester.identifier?.system === facilitySystem && requester.identifier.value) return requester.identifier.value;
  throw fhirError(
    422,
    'value',
    `the requester must be the ordering facility as identifier with system ${facilitySystem}`,
    `${at}.requester`,
  );
}

function procedureOf(code: CodeableConcept | undefined, at: string): OrderInput['procedure'] {
  const coding: Coding | undefined = code?.coding?.find((c) => c.code);
  if (!coding?.code)
    throw fhirError(422, 'required', 'the procedure code is required (code.coding[].code)', `${at}.code`);
  const procedure: OrderInput['procedure'] = { code: coding.code };
  const text = code?.text ?? coding.display;
  if (text) procedure.text = text;
  if (coding.display) procedure.display = coding.display;
  if (coding.system) procedure.system = coding.system;
  return procedure;
}

function identifiersOf(identifiers: Identifier[], at: string): ExamIdentifier[] {
  const result: ExamIdentifier[] = [];
  identifiers.forEach((id, i) => {
    if (id.system === examNumberSystem) return; // the hub's own number: assigned, not taken from the client
    if (!id.value) throw fhirError(422, 'required', 'an identifier needs a value', `${at}.identifier[${i}].value`);
    const code = id.type?.coding?.find((c) => c.system === identifierTypeSystem)?.code;
    const kind = code === 'PLAC' ? 'placer' : code === 'FILL' ? 'filler' : code === 'ACSN' ? 'accession' : 'external';
    if (kind === 'external' && !id.system) {
      throw fhirError(
        422,
        'required',
        'an identifier needs a system, or a type of PLAC, FILL or ACSN (v2-0203)',
        `${at}.identifier[${i}].system`,
      );
    }
    result.push(id.system ? { kind, value: id.value, system: id.system } : { kind, value: id.value });
  });
  return result;
}

function subjectOf(subject: Reference | undefined, at: string): SubjectRef {
  const reference = subject?.reference;
  if (reference?.startsWith('urn:uuid:')) return { kind: 'urn', urn: reference };
  const match = reference ? /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/.exec(reference) : null;
  if (match?.[1]) return { kind: 'id', id: match[1] };
  if (!reference && subject?.identifier?.system && subject.identifier.value)
    return { kind: 'identifier', system: subject.identifier.system, value: subject.identifier.value };
  throw fhirError(
    422,
    'value',
    'the subject must reference a Patient (Patient/{id}, a urn:uuid in a transaction, or an identifier)',
    `${at}.subject`,
  );
}

function examStatusOf(extensions: Extension[] | undefined, at: string): ExamStatus | undefined {
  const index = extensions?.findIndex((e) => e.url === examStatusExtension) ?? -1;
  if (index < 0) return undefined;
  const value = extensions?.[index]?.valueCode;
  if (!isExamStatus(value))
    throw fhirError(
      422,
      'code-invalid',
      `unknown exam status ${JSON.stringify(value ?? null)}`,
      `${at}.extension[${index}].valueCode`,
    );
  return value;
}

/** Domain field names (errors.ts `field`) as FHIRPath of the ServiceRequest. */
export function serviceRequestPath(field: string, at = 'ServiceRequest'): string | undefined {
  if (field.startsWith('procedure')) return `${at}.code`;
  if (field === 'priority') return `${at}.priority`;
  if (field === 'scheduledAt') return `${at}.occurrence`;
  if (field === 'authoredOn') return `${at}.authoredOn`;
  if (field === 'facility') return `${at}.requester`;
  if (field.startsWith('patient')) return `${at}.subject`;
  if (field.includes('number at') || field.startsWith('identifiers')) return `${at}.identifier`;
  if (field === 'status') return `${at}.status`;
  return undefined;
}
