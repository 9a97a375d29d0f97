// The audit trail in the console (/api/audit): newest first, filtered by target, user or action, paged with the
// cursor the previous page gave (`next`), never by offset, so entries written meanwhile do not shift a page.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { requireRole, type AuthState } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import { ValidationError } from '../runtime/validate.ts';
import type { AuditLog, AuditQuery } from './audit.ts';

const isAdmin = requireRole('admin');
const unlimitedAdmin: Middleware = async (ctx, next) => {
  if ((ctx.state as AuthState).user.facilities !== undefined)
    throw new HttpError(403, 'a user limited to some facilities cannot read the audit trail', { code: 'forbidden' });
  await isAdmin(ctx, next);
};

function auditQuery(query: Context['query']): AuditQuery {
  const text = (name: string): string | undefined => {
    const value = query[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const limitText = text('limit') ?? '50';
  if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 500)
    throw new ValidationError('limit', 'expected a whole number from 1 to 500');
  const result: AuditQuery = { limit: Number(limitText) };
  for (const key of ['target', 'user', 'action', 'cursor'] as const) {
    const value = text(key);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

export function createAuditRouter(audit: AuditLog, auth: Middleware): Router {
  const router = new Router({ prefix: '/api/audit' });
  router.get('/', auth, unlimitedAdmin, async (ctx) => {
    ctx.body = await audit.page(auditQuery(ctx.query));
  });
  return router;
}
