// The console's message browser (/api/messages): search paged by cursor, one message, and an export of up to
// 1,000 messages as NDJSON (one JSON message per line, raw and mapped content included). A user limited to some
// facilities sees only messages those facilities sent (MSH-4.1 among the facility's sending facilities); a
// message stored without a sending facility is shown only to users who are not limited.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { messageSearchFilter, searchMessagePage, type MessageSearch } from '../channels/message-search.ts';
import type { ChannelEngine } from '../channels/engine.ts';
import type { FacilityRegistry } from '../exams/facility.ts';
import type { AuthState, Role } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { AuditLog } from './audit.ts';
import { messageSearch, selectedIds } from './message-query.ts';
import { actorOf } from './staff.ts';

export interface MessageRouteOptions {
  engine: ChannelEngine;
  facilities: Pick<FacilityRegistry, 'get'>;
  audit: AuditLog;
  auth: Middleware;
}

const staffRoles: readonly Role[] = ['admin', 'analyst', 'integration', 'viewer'];
const facilityRoles: readonly Role[] = ['client-admin', 'customer'];
/** Staff read messages, limited or not; a facility's own people only when their user names their facilities. */
const readers: Middleware = async (ctx, next) => {
  const { roles, facilities } = (ctx.state as AuthState).user;
  const allowed = facilities === undefined ? staffRoles : [...staffRoles, ...facilityRoles];
  if (!roles.some((role) => allowed.includes(role))) {
    throw new HttpError(
      403,
      `requires one of the roles ${staffRoles.join(', ')}, or a facility role limited to facilities`,
      {
        code: 'forbidden',
      },
    );
  }
  await next();
};
export const maxExport = 1000;

/** The MSH-4 values a limited user may see; undefined for a user who is not limited. */
async function scopeOf(ctx: Context, facilities: MessageRouteOptions['facilities']): Promise<string[] | undefined> {
  const limited = (ctx.state as AuthState).user.facilities;
  if (limited === undefined) return undefined;
  const codes: string[] = [];
  for (const code of limited) codes.push(...((await facilities.get(code))?.sendingFacilities ?? []));
  return codes;
}

async function scoped(ctx: Context, facilities: MessageRouteOptions['facilities'], search: MessageSearch) {
  const scope = await scopeOf(ctx, facilities);
  return scope === undefined ? search : { ...search, sendingFacilities: scope };
}

export function createMessageRouter({ engine, facilities, audit, auth }: MessageRouteOptions): Router {
  const router = new Router({ prefix: '/api/messages' });
  router.use(auth, readers);

  router.get('/', async (ctx) => {
    const search = await scoped(ctx, facilities, messageSearch(ctx.query, 500));
    const page = await searchMessagePage(engine.messages, search);
    // The total on the first page only (a later page would count the same again), and not when `total=false`.
    const counted = search.cursor === undefined && ctx.query['total'] !== 'false';
    ctx.body = counted ? { ...page, total: await countOf(engine, search) } : page;
  });

  router.get('/export', async (ctx) => {
    const ids = selectedIds(ctx.query, maxExport);
    const search = await scoped(ctx, facilities, messageSearch(ctx.query, maxExport, maxExport));
    const chosen = ids ?? (await searchMessagePage(engine.messages, search)).items.map((m) => m._id);
    const scope = search.sendingFacilities;
    const messages = (await engine.messages.many(chosen)).filter(
      (m) => scope === undefined || (m.sendingFacility !== undefined && scope.includes(m.sendingFacility)),
    );
    await audit.record(actorOf(ctx), 'message.export', 'messages', { count: messages.length });
    ctx.type = 'application/x-ndjson';
    ctx.attachment(`messages-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`);
    ctx.body = messages.map((m) => `${JSON.stringify(m)}\n`).join('');
  });

  router.get('/:id', async (ctx) => {
    const id = ctx.params['id']!;
    const message = await engine.getMessage(id);
    const scope = await scopeOf(ctx, facilities);
    const visible =
      message &&
      (scope === undefined || (message.sendingFacility !== undefined && scope.includes(message.sendingFacility)));
    if (!visible) throw new HttpError(404, `message '${id}' not found`, { code: 'not-found' });
    ctx.body = message;
  });

  return router;
}

/** The count of all matches, on request only: on a large store it reads far more than a page. */
async function countOf(engine: ChannelEngine, search: MessageSearch): Promise<number> {
  return engine.messages.count(messageSearchFilter(search));
}
