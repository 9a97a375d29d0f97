// DICOMweb read side (PS3.18): QIDO-RS search (dicom/qido-rs.ts) and WADO-RS retrieve (dicom/wado-rs.ts) of the
// studies the hub stored, under /dicomweb beside STOW-RS. One route table; every route needs a bearer token, and a
// token limited to facilities sees only their studies: another facility's study answers 404, as an unknown one
// does, so a UID reveals nothing. Errors are HttpErrors, answered as RFC 9457 problems by the server.
import Router from '@koa/router';
import type { Context } from 'koa';
import { apiRoles, type AuthState } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { DicomwebScope } from './dicomweb-scope.ts';
import { searchInstances, searchSeries, searchStudies } from './qido-rs.ts';
import type { StudyIndex } from './study-index.ts';
import { retrieve, retrieveFrames, retrieveMetadata, retrieveRendered } from './wado-rs.ts';

export interface DicomwebOptions {
  studies: StudyIndex;
  /** Koa middleware that authenticates (http/auth.ts requireAuth). */
  auth: (ctx: Context, next: () => Promise<void>) => Promise<void>;
}

export function createDicomwebRouter(options: DicomwebOptions): Router {
  const router = new Router({ prefix: '/dicomweb' });
  const s = '/studies/:study';
  const r = `${s}/series/:series`;
  const i = `${r}/instances/:instance`;
  const routes: Array<[string, (ctx: Context, scope: DicomwebScope) => Promise<void>]> = [
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
  for (const [path, handler] of routes)
    router.get(path, options.auth, (ctx) => handler(ctx, scopeOf(ctx, options.studies)));
  return router;
}

function scopeOf(ctx: Context, index: StudyIndex): DicomwebScope {
  const user = (ctx.state as AuthState).user;
  if (!user.roles.some((role) => apiRoles.includes(role))) throw new HttpError(403, 'reading images needs an API role');
  return { index, user, base: `${ctx.origin}/dicomweb` };
}
