// Bundle transaction (R4 http.html#transaction) for Patient and ServiceRequest: every entry is checked first
// (validation, references, facility, duplicates, versions) and nothing is written unless all pass. Patients are
// written before the orders that reference them by urn:uuid.
//
// Limit, by design of the store: the embedded engine has no multi-document transactions, so "all or nothing"
// is guaranteed for everything that can be checked in advance. A store failure (or a concurrent writer taking
// an identifier) between two writes of one transaction leaves the earlier entries stored; the answer then is
// an OperationOutcome naming the entry that failed, and the earlier writes are in the exams' history.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { fhirError } from './outcome.ts';
import type { PatientPlan, PatientResource } from './patient-resource.ts';
import { etag, parseIfMatch, type FhirContext } from './request-context.ts';
import type { ServiceRequestPlan, ServiceRequestResource } from './service-request-resource.ts';

interface Planned {
  index: number;
  kind: 'Patient' | 'ServiceRequest';
  fullUrl?: string;
  patient?: PatientPlan;
  order?: ServiceRequestPlan;
}

export interface TransactionResources {
  patients: PatientResource;
  serviceRequests: ServiceRequestResource;
}

export async function runTransaction(
  body: unknown,
  context: FhirContext,
  resources: TransactionResources,
): Promise<Bundle> {
  const bundle = checkBundle(body);
  const entries = bundle.entry ?? [];
  const patientUrns = new Set(
    entries
      .filter((e) => e.resource?.resourceType === 'Patient' && e.fullUrl?.startsWith('urn:uuid:'))
      .map((e) => e.fullUrl!),
  );
  const planned: Planned[] = [];
  for (const [index, entry] of entries.entries())
    planned.push(await planEntry(entry, index, context, resources, patientUrns));
  refuseDoubleClaims(planned);

  const patientIds = new Map<string, string>();
  const results: BundleEntry[] = new Array(entries.length);
  for (const item of planned.filter((p) => p.kind === 'Patient')) {
    const result = await item.patient!.apply();
    if (item.fullUrl) patientIds.set(item.fullUrl, result.resource.id!);
    results[item.index] = responseEntry(result, context);
  }
  for (const item of planned.filter((p) => p.kind === 'ServiceRequest')) {
    const result = await item.order!.apply(patientIds);
    results[item.index] = responseEntry(result, context);
  }
  return { resourceType: 'Bundle', type: 'transaction-response', entry: results };
}

function checkBundle(body: unknown): Bundle {
  if (typeof body !== 'object' || body === null || (body as Resource).resourceType !== 'Bundle') {
    throw fhirError(400, 'invalid', 'expected a Bundle of type transaction', 'Bundle');
  }
  const bundle = body as Bundle;
  if (bundle.type !== 'transaction')
    throw fhirError(
      400,
      'not-supported',
      `only Bundle.type transaction is processed here, got ${JSON.stringify(bundle.type ?? null)}`,
      'Bundle.type',
    );
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry))
    throw fhirError(400, 'structure', 'expected a list', 'Bundle.entry');
  return bundle;
}

async function planEntry(
  entry: BundleEntry,
  index: number,
  context: FhirContext,
  resources: TransactionResources,
  urns: ReadonlySet<string>,
): Promise<Planned> {
  const at = `Bundle.entry[${index}]`;
  const method = entry.request?.method;
  const url = entry.request?.url ?? '';
  const match = /^(Patient|ServiceRequest)(?:\/([A-Za-z0-9\-.]{1,64}))?$/.exec(url);
  if (!match)
    throw fhirError(
      400,
      'not-supported',
      `request.url must be Patient, ServiceRequest or one of them with an id, got "${url}"`,
      `${at}.request.url`,
    );
  const kind = match[1] as Planned['kind'];
  const id = match[2];
  const resourceAt = `${at}.resource`;
  const item: Planned = { index, kind };
  if (entry.fullUrl) item.fullUrl = entry.fullUrl;
  if (method === 'POST' && id === undefined) {
    const ifNoneExist = entry.request?.ifNoneExist;
    if (kind === 'Patient')
      item.patient = await resources.patients.planCreate(entry.resource, context, ifNoneExist, resourceAt);
    else
      item.order = await resources.serviceRequests.planCreate(entry.resource, context, ifNoneExist, resourceAt, urns);
    return item;
  }
  if (method === 'PUT' && id !== undefined) {
    const version = parseIfMatch(entry.request?.ifMatch, `${at}.request.ifMatch`);
    if (kind === 'Patient')
      item.patient = await resources.patients.planUpdate(id, entry.resource, context, version, resourceAt);
    else
      item.order = await resources.serviceRequests.planUpdate(id, entry.resource, context, version, resourceAt, urns);
    return item;
  }
  throw fhirError(
    400,
    'not-supported',
    `only POST Type and PUT Type/id are supported in a transaction, got ${method ?? 'no method'} ${url}`,
    `${at}.request`,
  );
}

/** Two entries that would claim the same identifier would fail half-way; refuse them before writing. */
function refuseDoubleClaims(planned: readonly Planned[]): void {
  const claimed = new Map<string, number>();
  for (const item of planned) {
    for (const key of item.patient?.keys ?? item.order?.keys ?? []) {
      const other = claimed.get(key);
      if (other !== undefined) {
        const text = `entries ${other} and ${item.index} claim the same identifier ${key}`;
        throw fhirError(409, 'duplicate', text, `Bundle.entry[${item.index}].resource.identifier`);
      }
      claimed.set(key, item.index);
    }
  }
}

function responseEntry(
  result: { status: 200 | 201; resource: Resource & { id?: string }; version: number },
  context: FhirContext,
): BundleEntry {
  const location = `${result.resource.resourceType}/${result.resource.id}/_history/${result.version}`;
  return {
    fullUrl: `${context.base}/${result.resource.resourceType}/${result.resource.id}`,
    resource: result.resource,
    response: {
      status: result.status === 201 ? '201 Created' : '200 OK',
      location,
      etag: etag(result.version),
      ...(result.resource.meta?.lastUpdated ? { lastModified: result.resource.meta.lastUpdated } : {}),
    },
  };
}
