// GET /api/uploads: the upload log, newest first, for the RSO's admins and analysts (a facility-limited token is
// refused, as for the engine administration: the log names every facility's files). Filters: user, facility,
// outcome (stored, partly-stored, refused); limit 1-500, default 100.
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { requireRole, type AuthState } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { UploadLog, UploadOutcome, UploadQuery } from './upload-log.ts';

const outcomes: readonly UploadOutcome[] = ['stored', 'partly-stored', 'refused'];

export function createUploadsRouter(log: UploadLog, auth: (ctx: Context, next: Next) => Promise<void>): Router {
  const router = new Router();
  const role = requireRole('admin', 'analyst');
  router.get('/api/uploads', auth, role, async (ctx) => {
    if ((ctx.state as AuthState).user.facilities !== undefined)
      throw new HttpError(403, 'a token limited to some facilities cannot read the upload log', { code: 'forbidden' });
    ctx.body = { uploads: await log.recent(query(ctx)) };
  });
  return router;
}

function query(ctx: Context): UploadQuery {
  const text = (name: string): string | undefined => {
    const value = ctx.query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '')
      throw new HttpError(400, `${name}: expected one value`, { path: name });
    return value;
  };
  const limitText = text('limit') ?? '100';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 500)
    throw new HttpError(400, 'limit: expected a whole number from 1 to 500', { path: 'limit' });
  const out: UploadQuery = { limit };
  const user = text('user');
  const facility = text('facility');
  const outcome = text('outcome');
  if (user !== undefined) out.user = user;
  if (facility !== undefined) out.facility = facility;
  if (outcome !== undefined) {
    if (!outcomes.includes(outcome as UploadOutcome))
      throw new HttpError(400, `outcome: expected one of ${outcomes.join(', ')}`, { path: 'outcome' });
    out.outcome = outcome as UploadOutcome;
  }
  return out;
}
