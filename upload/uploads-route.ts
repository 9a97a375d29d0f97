// GET /api/uploads: the upload log, newest first: what technicians sent by SFTP/FTPS and what file drops read, with
// each file's result. Admins and analysts see every facility; a technician or client admin limited to some
// facilities sees theirs only (asking for another one is refused). Filters: user, facility, outcome (stored,
// partly-stored, refused); limit 1-500, default 100.
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { requireRole, type AuthState } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { UploadLog, UploadOutcome, UploadQuery } from './upload-log.ts';

const outcomes: readonly UploadOutcome[] = ['stored', 'partly-stored', 'refused'];

export function createUploadsRouter(log: UploadLog, auth: (ctx: Context, next: Next) => Promise<void>): Router {
  const router = new Router();
  const role = requireRole('admin', 'analyst', 'client-admin', 'technician');
  router.get('/api/uploads', auth, role, async (ctx) => {
    const { user } = ctx.state as AuthState;
    const asked = query(ctx);
    if (user.facilities === undefined && !user.roles.some((r) => r === 'admin' || r === 'analyst'))
      throw new HttpError(403, 'the upload log of every facility is for admins and analysts', { code: 'forbidden' });
    if (user.facilities !== undefined) {
      if (asked.facility !== undefined && !user.facilities.includes(asked.facility))
        throw new HttpError(403, `facility ${asked.facility} is not one of yours`, { code: 'forbidden' });
      asked.facilities = user.facilities;
    }
    ctx.body = { uploads: await log.recent(asked) };
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
