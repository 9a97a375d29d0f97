// The ServiceRequest endpoints, as plan-then-apply operations like patient-resource.ts. A ServiceRequest is the
// exam seen through FHIR: create = createOrder, update = updateOrder plus a lifecycle change, search = findExams.
import type { Bundle, ServiceRequest } from '@medplum/fhirtypes';
import type { Exam, OrderChanges } from '../exams/exam.ts';
import { refusal, type ExamStatus } from '../exams/lifecycle.ts';
import type { Patient } from '../exams/patient.ts';
import type { ExamQuery, ExamService } from '../exams/service.ts';
import { patientVisible } from './patient-visibility.ts';
import { fhirError, fromDomainError } from './outcome.ts';
import {
  canSeeFacility,
  checkFacilityWrite,
  defaultFacility,
  facilityLimit,
  refuseExternalReference,
  searchReferenceId,
  type FhirContext,
} from './request-context.ts';
import { parseCount, parseDate, parseOffset, parseSort, parseToken, searchset, values } from './search.ts';
import {
  examStatusesFor,
  fromServiceRequest,
  serviceRequestPath,
  targetStatus,
  toServiceRequest,
  type SubjectRef,
} from './service-request-mapping.ts';
import { examNumberSystem } from './systems.ts';
import type { ResourceValidator } from './validator.ts';

export interface ServiceRequestResult {
  status: 200 | 201;
  resource: ServiceRequest;
  version: number;
}

export interface ServiceRequestPlan {
  /** Exam identifier keys (`kind|value`) the plan claims, so a transaction refuses two entries with one number. */
  keys: string[];
  /** The urn:uuid of the subject when it is another entry of the same transaction. */
  subjectUrn?: string;
  /** Writes; `patientIds` resolves urn:uuid subjects to the patients the transaction created. */
  apply(patientIds: ReadonlyMap<string, string>): Promise<ServiceRequestResult>;
}

const sortFields = {
  authored: 'createdAt',
  _lastUpdated: 'updatedAt',
  occurrence: 'scheduledAt',
  priority: 'priorityRank',
  _id: 'examNumber',
} as const;

export class ServiceRequestResource {
  readonly #exams: ExamService;
  readonly #validator: ResourceValidator;

  constructor(exams: ExamService, validator: ResourceValidator) {
    this.#exams = exams;
    this.#validator = validator;
  }

  /** The facility's display name comes from the registry's cache (exams/facility.ts), so a rename shows. */
  async render(exam: Omit<Exam, 'history' | 'outbox'>): Promise<ServiceRequest> {
    const facility = await this.#exams.facilities.get(exam.facility);
    return toServiceRequest(exam, (code) => (code === facility?.code ? facility.name : undefined));
  }

  async read(id: string, context: FhirContext): Promise<Exam> {
    const exam = await this.#exams.get(id);
    if (!exam || !canSeeFacility(context, exam.facility))
      throw fhirError(404, 'not-found', `ServiceRequest/${id} is not known`);
    return exam;
  }

  /**
   * `precheck` false: a single request, where createOrder's own checks suffice (they run before its one write);
   * a transaction must check every entry before the first write.
   */
  async planCreate(
    body: unknown,
    context: FhirContext,
    ifNoneExist?: string,
    at = 'ServiceRequest',
    urns: ReadonlySet<string> = new Set(),
    precheck = true,
  ): Promise<ServiceRequestPlan> {
    const resource = await this.#validator.validate(body, ['ServiceRequest'], at === 'ServiceRequest' ? undefined : at);
    refuseExternalReference(resource.subject?.reference, 'Patient', context, `${at}.subject`);
    const facility = defaultFacility(context);
    const mapped = fromServiceRequest(resource, at, facility === undefined ? {} : { defaultFacility: facility });
    checkFacilityWrite(context, mapped.order.facility, `${at}.requester`);
    if (mapped.status !== 'active' && mapped.status !== 'draft') {
      throw fhirError(
        422,
        'business-rule',
        `a new order must have status active or draft, not ${mapped.status}`,
        `${at}.status`,
      );
    }
    if (mapped.examStatus !== undefined && mapped.examStatus !== 'requested') {
      throw fhirError(
        422,
        'business-rule',
        `a new exam starts as requested, not ${mapped.examStatus}`,
        `${at}.extension`,
      );
    }
    if (ifNoneExist !== undefined) {
      const existing = await this.#conditionalMatch(ifNoneExist, context);
      if (existing)
        return {
          keys: [],
          apply: async () => ({ status: 200, resource: await this.render(existing), version: existing.version }),
        };
    }
    const subject = await this.#subject(mapped.subject, at, urns, context);
    const subjectId = subject?._id;
    try {
      if (precheck)
        await this.#exams.checkOrder(
          subjectId === undefined ? mapped.order : { ...mapped.order, patient: { id: subjectId } },
        );
    } catch (error) {
      throw fromDomainError(error, (field) => serviceRequestPath(field, at)) ?? error;
    }
    const keys = (mapped.order.identifiers ?? []).map(
      (id) => `${mapped.order.facility}|${id.kind}|${id.system ?? ''}|${id.value}`,
    );
    const plan: ServiceRequestPlan = {
      keys,
      apply: async (patientIds) => {
        const patientId = subjectId ?? (mapped.subject.kind === 'urn' ? patientIds.get(mapped.subject.urn) : undefined);
        if (patientId === undefined) throw fhirError(422, 'not-found', 'the subject was not resolved', `${at}.subject`);
        // A single request applies at once: the subject it just read is current. A transaction's entries apply
        // after the others are planned, so there createOrder reads the patient itself.
        const known = precheck || subject === undefined ? {} : { patient: subject };
        const exam = await this.#exams
          .createOrder({ ...mapped.order, patient: { id: patientId } }, context.by, known)
          .catch((error: unknown) => {
            throw fromDomainError(error, (field) => serviceRequestPath(field, at)) ?? error;
          });
        return { status: 201, resource: await this.render(exam), version: exam.version };
      },
    };
    if (mapped.subject.kind === 'urn') plan.subjectUrn = mapped.subject.urn;
    return plan;
  }

  /** PUT ServiceRequest/{id}: order details and, when the status asks for it, a lifecycle change. */
  async planUpdate(
    id: string,
    body: unknown,
    context: FhirContext,
    expectedVersion: number | undefined,
    at = 'ServiceRequest',
    urns: ReadonlySet<string> = new Set(),
  ): Promise<ServiceRequestPlan> {
    const resource = await this.#validator.validate(body, ['ServiceRequest'], at === 'ServiceRequest' ? undefined : at);
    refuseExternalReference(resource.subject?.reference, 'Patient', context, `${at}.subject`);
    if (resource.id !== id)
      throw fhirError(
        400,
        'invalid',
        `the resource id (${resource.id ?? 'none'}) must equal the id in the URL (${id})`,
        `${at}.id`,
      );
    const exam = await this.read(id, context);
    if (expectedVersion !== undefined && expectedVersion !== exam.version) {
      throw fhirError(
        412,
        'conflict',
        `ServiceRequest/${id}: If-Match version ${expectedVersion} is not the current version ${exam.version}`,
      );
    }
    const mapped = fromServiceRequest(resource, at, { defaultFacility: exam.facility });
    if (mapped.order.facility !== exam.facility)
      throw fhirError(
        422,
        'business-rule',
        `an exam cannot move to another facility (it belongs to ${exam.facility})`,
        `${at}.requester`,
      );
    const to = targetStatus(exam.status, mapped, at);
    const reason = to === undefined ? undefined : refusal(exam.status, to);
    if (to !== undefined && reason !== undefined)
      throw fhirError(
        409,
        'business-rule',
        `exam ${id}: status ${exam.status} -> ${to} is not allowed: ${reason}`,
        `${at}.status`,
      );
    const subjectId = (await this.#subject(mapped.subject, at, urns, context))?._id;
    const changes = orderChanges(mapped.order, subjectId);
    const closed = exam.status === 'completed' || exam.status === 'cancelled';
    const plan: ServiceRequestPlan = {
      keys: [],
      apply: async (patientIds) => {
        const patientId = subjectId ?? (mapped.subject.kind === 'urn' ? patientIds.get(mapped.subject.urn) : undefined);
        try {
          const updated = await this.#write(
            exam,
            { ...changes, ...(patientId ? { patientId } : {}) },
            to,
            closed,
            context,
          );
          return { status: 200, resource: await this.render(updated), version: updated.version };
        } catch (error) {
          throw fromDomainError(error, (field) => serviceRequestPath(field, at)) ?? error;
        }
      },
    };
    if (mapped.subject.kind === 'urn') plan.subjectUrn = mapped.subject.urn;
    return plan;
  }

  /**
   * Reopening comes first (a closed exam takes no detail changes), closing last (so the details land while the
   * exam is open). The version pin applies to the first write; the second follows it.
   */
  async #write(
    exam: Exam,
    changes: OrderChanges,
    to: ExamStatus | undefined,
    closed: boolean,
    context: FhirContext,
  ): Promise<Exam> {
    let version = exam.version;
    let current = exam;
    if (to !== undefined && closed) {
      current = await this.#exams.changeStatus(exam.examNumber, to, context.by, { expectedVersion: version });
      version = current.version;
    }
    current = await this.#exams.updateOrder(exam.examNumber, changes, context.by, { expectedVersion: version });
    version = current.version;
    if (to !== undefined && !closed)
      current = await this.#exams.changeStatus(exam.examNumber, to, context.by, { expectedVersion: version });
    return current;
  }

  async search(params: URLSearchParams, context: FhirContext): Promise<Bundle> {
    const count = parseCount(params.get('_count'));
    const offset = parseOffset(params.get('_offset'));
    const page = await this.#exams.findExams({ ...(await this.#query(params, context)), skip: offset, limit: count });
    const resources = await Promise.all(page.items.map((exam) => this.render(exam)));
    return searchset(resources, {
      base: context.base,
      type: 'ServiceRequest',
      params,
      total: page.total,
      offset,
      count,
    });
  }

  async #query(params: URLSearchParams, context: FhirContext): Promise<ExamQuery> {
    const query: ExamQuery = {};
    const identifiers = values(params, 'identifier').flat();
    if (identifiers.length > 1)
      throw fhirError(400, 'not-supported', 'identifier: only one identifier per search is supported', 'identifier');
    if (identifiers[0] !== undefined) {
      const token = parseToken(identifiers[0]);
      if (token.system === examNumberSystem) query.examNumbers = [token.value];
      else query.identifier = token;
    }
    const ids = values(params, '_id').flat();
    if (ids.length > 0) query.examNumbers = [...(query.examNumbers ?? []), ...ids];
    const patients = ['patient', 'subject'].flatMap((name) =>
      values(params, name)
        .flat()
        .map((ref) => searchReferenceId(ref, 'Patient', context, name)),
    );
    if (patients.length > 0) query.patientIds = patients;
    const statuses = values(params, 'status').flat();
    if (statuses.length > 0) query.statuses = statuses.flatMap(examStatusesFor);
    const created = params.getAll('authored').map((v) => parseDate(v, 'authored'));
    if (created.length > 0) query.created = created;
    const updated = params.getAll('_lastUpdated').map((v) => parseDate(v, '_lastUpdated'));
    if (updated.length > 0) query.updated = updated;
    const sort = parseSort(params.get('_sort'), sortFields);
    if (sort) query.sort = sort;
    const limit = facilityLimit(context);
    if (limit) query.facilities = limit;
    return query;
  }

  async #conditionalMatch(ifNoneExist: string, context: FhirContext): Promise<Exam | undefined> {
    const params = new URLSearchParams(ifNoneExist);
    if (![...params.keys()].every((key) => key === 'identifier' || key === '_id')) {
      throw fhirError(
        400,
        'not-supported',
        `If-None-Exist: only identifier and _id are supported, got "${ifNoneExist}"`,
        'If-None-Exist',
      );
    }
    const page = await this.#exams.findExams({ ...(await this.#query(params, context)), limit: 2 });
    if (page.total > 1)
      throw fhirError(
        412,
        'multiple-matches',
        `If-None-Exist "${ifNoneExist}" matches ${page.total} service requests`,
        'If-None-Exist',
      );
    return page.items[0] as Exam | undefined;
  }

  /** The stored patient, or undefined for a urn:uuid the transaction resolves. */
  async #subject(
    subject: SubjectRef,
    at: string,
    urns: ReadonlySet<string>,
    context: FhirContext,
  ): Promise<Patient | undefined> {
    if (subject.kind === 'urn') {
      if (!urns.has(subject.urn))
        throw fhirError(
          400,
          'not-found',
          `${subject.urn} is not the fullUrl of a Patient entry in this transaction`,
          `${at}.subject`,
        );
      return undefined;
    }
    // A patient the token may not see answers exactly like one that does not exist: no probing for MRNs.
    if (subject.kind === 'id') {
      const patient = await this.#exams.patients.get(subject.id);
      if (!patient || !(await patientVisible(this.#exams, patient, context)))
        throw fhirError(422, 'not-found', `Patient/${subject.id} does not exist`, `${at}.subject`);
      return patient;
    }
    const patient = await this.#exams.patients.findByIdentifier(subject.system, subject.value);
    if (!patient || !(await patientVisible(this.#exams, patient, context))) {
      throw fhirError(
        422,
        'not-found',
        `no patient has the identifier ${subject.system}|${subject.value}`,
        `${at}.subject.identifier`,
      );
    }
    return patient;
  }
}

/** A PUT replaces the resource: what it leaves out is cleared. Identifiers are only ever added. */
function orderChanges(
  order: ReturnType<typeof fromServiceRequest>['order'],
  patientId: string | undefined,
): OrderChanges {
  const changes: OrderChanges = {
    procedure: order.procedure,
    priority: order.priority ?? 'routine',
    modality: order.modality ?? null,
    scheduledAt: order.scheduledAt ?? null,
    reason: order.reason ?? null,
    identifiers: order.identifiers ?? [],
  };
  if (patientId !== undefined) changes.patientId = patientId;
  return changes;
}
