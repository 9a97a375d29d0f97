// The Patient endpoints as two-step operations: `plan*` checks everything and stores nothing; the returned
// plan's `apply` writes. A single request plans and applies at once; a transaction plans every entry first.
import type { Patient as FhirPatient } from '@medplum/fhirtypes';
import type { ExamService } from '../exams/service.ts';
import type { Patient } from '../exams/patient.ts';
import { identifierKey } from '../exams/patient.ts';
import { fhirError, fromDomainError } from './outcome.ts';
import { fromFhirPatient, toFhirPatient } from './patient-mapping.ts';
import { patientVisible } from './patient-visibility.ts';
import { facilityLimit, type FhirContext } from './request-context.ts';
import { parseCount, parseDate, parseOffset, parseSort, parseToken, searchset, values } from './search.ts';
import type { ResourceValidator } from './validator.ts';
import type { Bundle } from '@medplum/fhirtypes';

export interface WriteResult {
  status: 200 | 201;
  resource: FhirPatient;
  version: number;
}

export interface PatientPlan {
  /** Identifier keys the plan will claim, so a transaction can refuse two entries claiming the same one. */
  keys: string[];
  apply(): Promise<WriteResult>;
}

const sortFields = { _lastUpdated: 'updatedAt', birthdate: 'birthDate' } as const;

function patientPath(at: string) {
  return (field: string): string | undefined => {
    if (field.startsWith('patient.identifiers')) return `${at}.identifier${field.slice('patient.identifiers'.length)}`;
    if (field.endsWith('birthDate')) return `${at}.birthDate`;
    if (field.endsWith('sex')) return `${at}.gender`;
    return undefined;
  };
}

export class PatientResource {
  readonly #exams: ExamService;
  readonly #validator: ResourceValidator;

  constructor(exams: ExamService, validator: ResourceValidator) {
    this.#exams = exams;
    this.#validator = validator;
  }

  async read(id: string, context: FhirContext): Promise<Patient> {
    const patient = await this.#exams.patients.get(id);
    if (!patient || !(await patientVisible(this.#exams, patient, context)))
      throw fhirError(404, 'not-found', `Patient/${id} is not known`);
    return patient;
  }

  /** POST Patient (optionally conditional: `ifNoneExist` is the If-None-Exist query). */
  /** `precheck` false: a single request (createPatient checks before its one write); see ServiceRequestResource. */
  async planCreate(
    body: unknown,
    context: FhirContext,
    ifNoneExist?: string,
    at = 'Patient',
    precheck = true,
  ): Promise<PatientPlan> {
    const resource = await this.#validator.validate(body, ['Patient'], at === 'Patient' ? undefined : at);
    const input = fromFhirPatient(resource, at);
    const keys = input.identifiers.map((id) => identifierKey(id.system, id.value));
    if (ifNoneExist !== undefined) {
      const existing = await this.#conditionalMatch(ifNoneExist, context);
      if (existing)
        return {
          keys: [],
          apply: async () => ({ status: 200, resource: toFhirPatient(existing), version: existing.version }),
        };
    }
    try {
      if (precheck) await this.#exams.checkNewPatient(input);
    } catch (error) {
      throw fromDomainError(error, patientPath(at)) ?? error;
    }
    return {
      keys,
      apply: async () => {
        const patient = await this.#exams.createPatient(input, context.by).catch((error: unknown) => {
          throw fromDomainError(error, patientPath(at)) ?? error;
        });
        return { status: 201, resource: toFhirPatient(patient), version: patient.version };
      },
    };
  }

  /** PUT Patient/{id}; no update-as-create (ids are the hub's). */
  async planUpdate(
    id: string,
    body: unknown,
    context: FhirContext,
    expectedVersion: number | undefined,
    at = 'Patient',
  ): Promise<PatientPlan> {
    const resource = await this.#validator.validate(body, ['Patient'], at === 'Patient' ? undefined : at);
    if (resource.id !== id)
      throw fhirError(
        400,
        'invalid',
        `the resource id (${resource.id ?? 'none'}) must equal the id in the URL (${id})`,
        `${at}.id`,
      );
    const current = await this.read(id, context);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw fhirError(
        412,
        'conflict',
        `Patient/${id}: If-Match version ${expectedVersion} is not the current version ${current.version}`,
      );
    }
    if (current.mergedInto !== undefined)
      throw fhirError(
        409,
        'business-rule',
        `Patient/${id} was merged into Patient/${current.mergedInto}; update that one`,
      );
    const input = fromFhirPatient(resource, at);
    for (const [i, identifier] of input.identifiers.entries()) {
      const holder = await this.#exams.patients.findByIdentifier(identifier.system, identifier.value);
      if (holder && holder._id !== id)
        throw fhirError(
          409,
          'duplicate',
          `${identifier.system}|${identifier.value} is already used by Patient/${holder._id}`,
          `${at}.identifier[${i}]`,
        );
    }
    const keys = input.identifiers
      .map((i) => identifierKey(i.system, i.value))
      .filter((key) => !current.identifierKeys.includes(key));
    return {
      keys,
      apply: async () => {
        const patient = await this.#exams
          .updatePatient(id, input, context.by, { expectedVersion: expectedVersion ?? current.version })
          .catch((error: unknown) => {
            throw fromDomainError(error, patientPath(at)) ?? error;
          });
        return { status: 200, resource: toFhirPatient(patient), version: patient.version };
      },
    };
  }

  async search(params: URLSearchParams, context: FhirContext): Promise<Bundle> {
    const count = parseCount(params.get('_count'));
    const offset = parseOffset(params.get('_offset'));
    const page = await this.#exams.findPatients({
      ...this.#query(params, context),
      skip: offset,
      limit: count,
      ...sortOf(params),
    });
    return searchset(page.items.map(toFhirPatient), {
      base: context.base,
      type: 'Patient',
      params,
      total: page.total,
      offset,
      count,
    });
  }

  #query(params: URLSearchParams, context: FhirContext) {
    const query: Parameters<ExamService['findPatients']>[0] = {};
    const identifiers = values(params, 'identifier').flat();
    if (identifiers.length > 1)
      throw fhirError(400, 'not-supported', 'identifier: only one identifier per search is supported', 'identifier');
    if (identifiers[0] !== undefined) query.identifier = parseToken(identifiers[0]);
    const ids = values(params, '_id').flat();
    if (ids.length > 0) query.ids = ids;
    const family = params.get('family') ?? params.get('name');
    if (family) query.family = family;
    const birthdate = params.get('birthdate');
    if (birthdate) query.birthDate = birthdate;
    const updated = params.getAll('_lastUpdated').map((v) => parseDate(v, '_lastUpdated'));
    if (updated.length > 0) query.updated = updated;
    const limit = facilityLimit(context);
    if (limit) query.facilities = limit;
    return query;
  }

  async #conditionalMatch(ifNoneExist: string, context: FhirContext): Promise<Patient | undefined> {
    const params = new URLSearchParams(ifNoneExist);
    if (![...params.keys()].every((key) => key === 'identifier' || key === '_id')) {
      throw fhirError(
        400,
        'not-supported',
        `If-None-Exist: only identifier and _id are supported, got "${ifNoneExist}"`,
        'If-None-Exist',
      );
    }
    const page = await this.#exams.findPatients({ ...this.#query(params, context), limit: 2 });
    if (page.total > 1)
      throw fhirError(
        412,
        'multiple-matches',
        `If-None-Exist "${ifNoneExist}" matches ${page.total} patients`,
        'If-None-Exist',
      );
    return page.items[0];
  }
}

function sortOf(params: URLSearchParams) {
  const sort = parseSort(params.get('_sort'), sortFields);
  return sort ? { sort } : {};
}
