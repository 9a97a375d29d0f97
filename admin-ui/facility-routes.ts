// The console's facilities (/api/facilities): list, read, create, replace and delete, checked by the same
// parseFacility as the seed files (a bad AE title is refused at `aeTitles[0]`), every change audited with the
// facility before and after. Admins manage all; a client admin edits only the facilities its user names; staff
// read. A facility that exams name cannot be deleted (set `active: false` instead). The seed files in
// config/facilities are saved again at every start, so a change to a seeded facility lasts until the next start
// unless the file changes too.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { ExamService } from '../exams/service.ts';
import { parseFacility, type Facility } from '../exams/facility.ts';
import type { AuthState } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import { ValidationError } from '../runtime/validate.ts';
import type { AuditLog } from './audit.ts';
import { actorOf } from './staff.ts';

const bodyLimit = 256 * 1024;
const readerRoles = ['admin', 'analyst', 'integration', 'viewer', 'client-admin'] as const;

function user(ctx: Context) {
  return (ctx.state as AuthState).user;
}

function mayRead(ctx: Context, code: string): boolean {
  const { roles, facilities } = user(ctx);
  const role = roles.some((r) => (readerRoles as readonly string[]).includes(r));
  return role && (facilities === undefined || facilities.includes(code));
}

/** Admins (not limited) change any facility; a client admin only the facilities its user is limited to. */
function mayChange(ctx: Context, code: string): boolean {
  const { roles, facilities } = user(ctx);
  if (roles.includes('admin') && facilities === undefined) return true;
  return roles.includes('client-admin') && facilities?.includes(code) === true;
}

const unlimitedAdmin: Middleware = async (ctx, next) => {
  const { roles, facilities } = user(ctx);
  if (!roles.includes('admin') || facilities !== undefined)
    throw new HttpError(403, 'only an admin not limited to facilities creates or deletes facilities', {
      code: 'forbidden',
    });
  await next();
};

function notFound(code: string): HttpError {
  return new HttpError(404, `facility '${code}' not found`, { code: 'not-found' });
}

export function createFacilityRouter(exams: ExamService, audit: AuditLog, auth: Middleware): Router {
  const { facilities } = exams;
  const router = new Router({ prefix: '/api/facilities' });
  router.use(auth);

  router.get('/', async (ctx) => {
    if (!user(ctx).roles.some((r) => (readerRoles as readonly string[]).includes(r)))
      throw new HttpError(403, `requires one of the roles: ${readerRoles.join(', ')}`, { code: 'forbidden' });
    ctx.body = (await facilities.list()).filter((f) => mayRead(ctx, f.code));
  });

  router.get('/:code', async (ctx) => {
    const code = ctx.params['code']!;
    const facility = mayRead(ctx, code) ? await facilities.get(code) : undefined;
    if (!facility) throw notFound(code);
    ctx.body = facility;
  });

  router.post('/', unlimitedAdmin, async (ctx) => {
    const facility = parseFacility(await readJson(ctx, bodyLimit));
    if (await facilities.get(facility.code))
      throw new HttpError(409, `facility '${facility.code}' exists`, { code: 'duplicate', path: 'code' });
    const saved = await facilities.save(facility);
    await audit.record(actorOf(ctx), 'facility.create', `facility:${saved.code}`, undefined, {
      before: null,
      after: saved,
    });
    ctx.status = 201;
    ctx.body = saved;
  });

  router.put('/:code', async (ctx) => {
    const code = ctx.params['code']!;
    if (!mayChange(ctx, code))
      throw new HttpError(403, `this user may not change facility '${code}'`, { code: 'forbidden' });
    const facility: Facility = parseFacility(await readJson(ctx, bodyLimit));
    if (facility.code !== code) throw new ValidationError('code', `expected '${code}', the facility code in the URL`);
    const before = await facilities.get(code);
    if (!before) throw notFound(code);
    const saved = await facilities.save(facility);
    await audit.record(actorOf(ctx), 'facility.update', `facility:${code}`, undefined, { before, after: saved });
    ctx.body = saved;
  });

  router.delete('/:code', unlimitedAdmin, async (ctx) => {
    const code = ctx.params['code']!;
    const before = await facilities.get(code);
    if (!before) throw notFound(code);
    const { total } = await exams.findExams({ facilities: [code], limit: 1 });
    if (total > 0)
      throw new HttpError(409, `${total} exam(s) belong to facility '${code}'; set "active": false instead`, {
        code: 'conflict',
      });
    await facilities.remove(code);
    await audit.record(actorOf(ctx), 'facility.delete', `facility:${code}`, undefined, { before, after: null });
    ctx.status = 204;
  });

  return router;
}
