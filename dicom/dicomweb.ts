// DICOMweb read side (PS3.18): QIDO-RS search (dicom/qido-rs.ts) and WADO-RS retrieve (dicom/wado-rs.ts) of the
// studies the hub stored. One route table, mounted under a root with an access function: /dicomweb for users
// and API tokens (facility-scoped), and /consult/:token/dicomweb for a consultant link (its exam's studies only).
// Only GET routes exist, so a link reads and never writes. Errors are HttpErrors, answered as RFC 9457 problems.
import Router from '@koa/router';
import type { Context } from 'koa';
import { apiRoles, type AuthState } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { DicomwebReader, DicomwebScope } from './dicomweb-scope.ts';
import type { InstanceCache } from './instance-cache.ts';
import { searchInstances, searchSeries, searchStudies } from './qido-rs.ts';
import type { StudyIndex } from './study-index.ts';
import { retrieve, retrieveFrames, retrieveMetadata, retrieveRendered } from './wado-rs.ts';

export interface DicomwebOptions {
  studies: StudyIndex;
  /** Authenticates the request and says what it may read; throws an HttpError (401, 403, 404) otherwise. */
  access(ctx: Context): Promise<DicomwebReader>;
  /** Where the routes live: `/dicomweb` unless given (a router path, parameters allowed). */
  root?: string;
  /** Recently retrieved small instances (dicom/instance-cache.ts); none: every retrieve reads the files. */
  cache?: InstanceCache | undefined;
}

type Handler = (ctx: Context, scope: DicomwebScope) => Promise<void>;

const s = '/studies/:study';
const r = `${s}/series/:series`;
const i = `${r}/instances/:instance`;
const routes: ReadonlyArray<[string, Handler]> = [
  ['/studies', searchStudies],
  [`${s}/series`, searchSeries],
  [`${s}/instances`, searchInstances],
  [`${r}/instances`, searchInstances],
  [s, retrieve],
  [r, retrieve],
  [i, retrieve],
  [`${s}/metadata`, retrieveMetadata],
  [`${r}/metadata`, retrieveMetadata],
  [`${i}/metadata`, retrieveMetadata],
  [`${i}/frames/:frames`, retrieveFrames],
  [`${i}/rendered`, retrieveRendered],
  [`${i}/frames/:frames/rendered`, retrieveRendered],
  [`${s}/thumbnail`, retrieveRendered],
  [`${r}/thumbnail`, retrieveRendered],
  [`${i}/thumbnail`, retrieveRendered],
  [`${i}/frames/:frames/thumbnail`, retrieveRendered],
];

export function createDicomwebRouter(options: DicomwebOptions): Router {
  const root = options.root ?? '/dicomweb';
  const router = new Router({ prefix: root });
  for (const [path, handler] of routes)
    router.get(path, async (ctx) => {
      const reader = await options.access(ctx);
      await handler(ctx, { ...reader, index: options.studies, base: baseOf(ctx, root), cache: options.cache });
    });
  return router;
}

/** The access of /dicomweb: a bearer token or a console session (http/auth.ts requireAuth) with an API role. */
export function signedInAccess(auth: (ctx: Context, next: () => Promise<void>) => Promise<void>) {
  return async (ctx: Context): Promise<DicomwebReader> => {
    await auth(ctx, async () => {});
    const user = (ctx.state as AuthState).user;
    if (!user.roles.some((role) => apiRoles.includes(role)))
      throw new HttpError(403, 'reading images needs an API role');
    return { user };
  };
}

/**
 * The root's URL as the client reached it, its parameters (a link's token) filled in from the request path. From
 * the protocol and Host, as the FHIR router's base: Koa 3's ctx.origin is the request's Origin header, which a
 * same-origin GET and most clients do not send (every RetrieveURL and BulkDataURI then began with "null").
 */
function baseOf(ctx: Context, root: string): string {
  const depth = root.split('/').length;
  return `${ctx.protocol}://${ctx.host}${ctx.path.split('/').slice(0, depth).join('/')}`;
}
