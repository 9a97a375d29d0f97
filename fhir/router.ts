// The FHIR R4 REST API at /fhir/R4 (R4 http.html): Patient, ServiceRequest and DiagnosticReport
// create/read/vread/update/search, ImagingStudy read/search,
// conditional create, versioning with ETag/If-Match, and Bundle transactions. Every answer is
// application/fhir+json; every error is an OperationOutcome. The resources are views of the exam domain: this
// router stores nothing of its own.
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type { Resource } from '@medplum/fhirtypes';
import {
  apiRoles,
  requireAuth,
  requireRole,
  type AuthState,
  type Role,
  type TokenAuthenticator,
} from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import type { ExamService } from '../exams/service.ts';
import type { Logger } from '../runtime/log.ts';
import { capabilityStatement, searchParameterNames } from './capability.ts';
import { lenientHandling, supportedParameters } from './search.ts';
import { fhirError, outcomeResponses } from './outcome.ts';
import { PatientResource } from './patient-resource.ts';
import { toFhirPatient } from './patient-mapping.ts';
import { etag, parseIfMatch, type FhirContext } from './request-context.ts';
import { ServiceRequestResource } from './service-request-resource.ts';
import { runTransaction } from './transaction.ts';
import { parseJsonBody } from './validator.ts';
import { sharedValidationThread } from './validation-thread.ts';
import { ImagingStudyResource } from './imaging-study-resource.ts';
import { DiagnosticReportResource } from './diagnostic-report-resource.ts';
import type { StudyReader } from '../exams/study-records.ts';

export const fhirPrefix = '/fhir/R4';
const fhirJson = 'application/fhir+json; charset=utf-8';

export interface FhirRouterOptions {
  exams: ExamService;
  auth: TokenAuthenticator;
  log: Logger;
  /** Public base URL for fullUrl/Location (behind a proxy); default: from the request's Host. */
  baseUrl?: string;
  bodyLimitBytes?: number;
  /** Load the StructureDefinitions now instead of on the first write (≈0.6 s). */
  preloadDefinitions?: boolean;
  /** The DICOM study index: serves ImagingStudy (read and search) when given. */
  studies?: StudyReader;
}

/** Roles that may create and change orders and patients; the others only read. */
const writers: readonly Role[] = ['admin', 'integration', 'client-admin', 'customer', 'technician'];
/** Reports are written by the RSO's readers and typists, and by integrations (a dictation system, an EHR). */
const reportWriters: readonly Role[] = ['admin', 'integration', 'radiologist', 'transcriber'];
const types = ['Patient', 'ServiceRequest', 'ImagingStudy', 'DiagnosticReport'] as const;
type FhirType = (typeof types)[number];

export function createFhirRouter(options: FhirRouterOptions): Router {
  const validator = sharedValidationThread();
  if (options.preloadDefinitions) validator.start();
  const router = new Router({ prefix: fhirPrefix });
  const patients = new PatientResource(options.exams, validator);
  const serviceRequests = new ServiceRequestResource(options.exams, validator);
  const reports = new DiagnosticReportResource(options.exams, validator);
  const imagingStudies =
    options.studies === undefined ? undefined : new ImagingStudyResource(options.exams, options.studies);
  const studiesOnly = (): ImagingStudyResource => {
    if (imagingStudies === undefined)
      throw fhirError(404, 'not-supported', 'ImagingStudy is not served by this hub (no DICOM study index)');
    return imagingStudies;
  };
  const readOnly = (type: FhirType): Exclude<FhirType, 'ImagingStudy'> => {
    if (type === 'ImagingStudy')
      throw fhirError(
        405,
        'not-supported',
        'ImagingStudy is read-only here: studies arrive over DICOM (C-STORE or STOW-RS)',
      );
    return type;
  };
  const limit = options.bodyLimitBytes ?? 10 * 1024 * 1024;
  const authenticated = requireAuth(options.auth);
  const anyApiRole = requireRole(...apiRoles);
  const authed: Middleware = (ctx, next) => authenticated(ctx, () => anyApiRole(ctx, next));
  // Every answer under the prefix, errors of auth and of unknown paths included, is rendered here.
  router.use(outcomeResponses(options.log));

  const base = (ctx: Context): string => options.baseUrl ?? `${ctx.protocol}://${ctx.host}${fhirPrefix}`;
  const contextOf = (ctx: Context): FhirContext => {
    const user = (ctx.state as AuthState).user;
    const requestId = ctx.get('x-request-id');
    return {
      user,
      base: base(ctx),
      by: requestId ? { actor: user.name, via: 'fhir', messageId: requestId } : { actor: user.name, via: 'fhir' },
    };
  };
  const body = async (ctx: Context): Promise<unknown> => {
    const type = ctx.get('content-type');
    if (!/^application\/(fhir\+)?json\b/i.test(type))
      throw fhirError(415, 'not-supported', `Content-Type must be application/fhir+json, got "${type || 'none'}"`);
    // parseJsonBody keeps the text for the validation thread.
    return readJson(ctx, limit, parseJsonBody);
  };

  router.get('/metadata', (ctx) => {
    send(ctx, 200, capabilityStatement(base(ctx), { name: 'rso-hub', version: '0.1.0' }));
  });

  router.post('/', authed, writer, async (ctx) => {
    send(ctx, 200, await runTransaction(await body(ctx), contextOf(ctx), { patients, serviceRequests }));
  });

  router.get('/:type', authed, async (ctx) => {
    const context = contextOf(ctx);
    const type = typeOf(ctx.params['type']);
    const lenient = lenientHandling(ctx.get('prefer') || undefined);
    const params = supportedParameters(type, new URLSearchParams(ctx.querystring), searchParameterNames(type), lenient);
    if (type === 'ImagingStudy') return send(ctx, 200, await studiesOnly().search(params, context));
    if (type === 'DiagnosticReport') return send(ctx, 200, await reports.search(params, context));
    send(
      ctx,
      200,
      type === 'Patient' ? await patients.search(params, context) : await serviceRequests.search(params, context),
    );
  });

  router.post('/:type', authed, writer, async (ctx) => {
    const type = readOnly(typeOf(ctx.params['type']));
    const context = contextOf(ctx);
    const resource = await body(ctx);
    if (type === 'DiagnosticReport') {
      const created = await reports.create(resource, context);
      return sendVersioned(ctx, created.status, created.resource, created.version, context.base);
    }
    const ifNoneExist = ctx.get('if-none-exist') || undefined;
    const result =
      type === 'Patient'
        ? await (await patients.planCreate(resource, context, ifNoneExist, 'Patient', false)).apply()
        : await (
            await serviceRequests.planCreate(resource, context, ifNoneExist, 'ServiceRequest', new Set(), false)
          ).apply(new Map());
    sendVersioned(ctx, result.status, result.resource, result.version, context.base);
  });

  router.get('/:type/:id', authed, async (ctx) => {
    const { resource, version } = await readCurrent(typeOf(ctx.params['type']), ctx.params['id']!, contextOf(ctx));
    sendVersioned(ctx, 200, resource, version);
  });

  // vread of the current version only: the exam history keeps what changed, not whole past resources.
  router.get('/:type/:id/_history/:vid', authed, async (ctx) => {
    const type = typeOf(ctx.params['type']);
    const { resource, version } = await readCurrent(type, ctx.params['id']!, contextOf(ctx));
    if (ctx.params['vid'] !== String(version)) {
      throw fhirError(
        404,
        'not-found',
        `${type}/${ctx.params['id']}: version ${ctx.params['vid']} is not available (only the current version ${version} is kept)`,
      );
    }
    sendVersioned(ctx, 200, resource, version);
  });

  router.put('/:type/:id', authed, writer, async (ctx) => {
    const type = readOnly(typeOf(ctx.params['type']));
    const context = contextOf(ctx);
    const id = ctx.params['id']!;
    const version = parseIfMatch(ctx.get('if-match') || undefined);
    const resource = await body(ctx);
    if (type === 'DiagnosticReport') {
      const updated = await reports.update(id, resource, context, version);
      return sendVersioned(ctx, updated.status, updated.resource, updated.version);
    }
    const result =
      type === 'Patient'
        ? await (await patients.planUpdate(id, resource, context, version)).apply()
        : await (await serviceRequests.planUpdate(id, resource, context, version)).apply(new Map());
    sendVersioned(ctx, 200, result.resource, result.version);
  });

  router.all('/*rest', (ctx) => {
    throw fhirError(404, 'not-supported', `${ctx.method} ${ctx.path} is not supported (see ${fhirPrefix}/metadata)`);
  });

  async function readCurrent(
    type: FhirType,
    id: string,
    context: FhirContext,
  ): Promise<{ resource: Resource; version: number }> {
    if (type === 'ImagingStudy') return studiesOnly().read(id, context);
    if (type === 'DiagnosticReport') return reports.read(id, context);
    if (type === 'Patient') {
      const patient = await patients.read(id, context);
      return { resource: toFhirPatient(patient), version: patient.version };
    }
    const exam = await serviceRequests.read(id, context);
    return { resource: await serviceRequests.render(exam), version: exam.version };
  }

  return router;
}

function typeOf(name: string | undefined): FhirType {
  if ((types as readonly string[]).includes(name ?? '')) return name as FhirType;
  throw fhirError(
    404,
    'not-supported',
    `resource type ${name ?? ''} is not supported here (supported: ${types.join(', ')})`,
  );
}

async function writer(ctx: Context, next: Next): Promise<void> {
  const user = (ctx.state as AuthState).user;
  const allowed = ctx.params['type'] === 'DiagnosticReport' ? reportWriters : writers;
  if (!user.roles.some((role) => allowed.includes(role))) {
    throw fhirError(403, 'forbidden', `changes need one of the roles: ${allowed.join(', ')}`);
  }
  await next();
}

function send(ctx: Context, status: number, resource: unknown): void {
  ctx.status = status;
  ctx.body = JSON.stringify(resource);
  ctx.type = fhirJson;
}

/** R4 http.html#versioning: ETag W/"versionId", Last-Modified, and Location on create. */
function sendVersioned(ctx: Context, status: number, resource: Resource, version: number, base?: string): void {
  ctx.set('ETag', etag(version));
  if (resource.meta?.lastUpdated) ctx.set('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  if (status === 201 && base)
    ctx.set('Location', `${base}/${resource.resourceType}/${resource.id}/_history/${version}`);
  send(ctx, status, resource);
}
