// The console's user administration (/api/users), for admins whose token or session is not limited to
// facilities. Password hashes never leave admin-ui/users.ts; a reset by an admin makes the user choose a new
// password at the next sign-in, and ends the user's sessions, as deleting the user does.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { requireRole, type AuthState } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import { isDuplicateKeyError } from '../store/db.ts';
import type { AuditLog } from './audit.ts';
import type { SessionStore } from './sessions.ts';
import { parseNewUser, parseUserChange, parseUsername, publicUser, type UserStore } from './users.ts';

export interface UserRouteOptions {
  users: UserStore;
  sessions: SessionStore;
  audit: AuditLog;
  auth: Middleware;
}

const bodyLimit = 64 * 1024;

const isAdmin = requireRole('admin');
const adminOnly: Middleware = async (ctx, next) => {
  if ((ctx.state as AuthState).user.facilities !== undefined)
    throw new HttpError(403, 'a user limited to some facilities cannot manage users', { code: 'forbidden' });
  await isAdmin(ctx, next);
};

function actor(ctx: Context): string {
  return (ctx.state as AuthState).user.name;
}

export function createUserRouter({ users, sessions, audit, auth }: UserRouteOptions): Router {
  const router = new Router({ prefix: '/api/users' });
  router.use(auth, adminOnly);

  router.get('/', async (ctx) => {
    ctx.body = (await users.list()).map(publicUser);
  });

  router.get('/:username', async (ctx) => {
    const record = await users.get(ctx.params['username']!);
    if (!record) throw new HttpError(404, `user '${ctx.params['username']}' not found`, { code: 'not-found' });
    ctx.body = publicUser(record);
  });

  router.post('/', async (ctx) => {
    const user = parseNewUser(await readJson(ctx, bodyLimit));
    try {
      const created = await users.create(user);
      await audit.record(actor(ctx), 'user.create', `user:${created._id}`, undefined, {
        before: null,
        after: publicUser(created),
      });
      ctx.status = 201;
      ctx.body = publicUser(created);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      throw new HttpError(409, `user '${user.username}' exists`, { code: 'duplicate', path: 'username' });
    }
  });

  router.patch('/:username', async (ctx) => {
    const username = parseUsername(ctx.params['username'], 'username');
    const change = parseUserChange(await readJson(ctx, bodyLimit));
    const before = await users.get(username);
    const updated = before && (await users.update(username, change));
    if (!before || !updated) throw new HttpError(404, `user '${username}' not found`, { code: 'not-found' });
    if (change.password !== undefined) await sessions.endAllOf(username);
    // A password is never audited, only that it was reset.
    await audit.record(
      actor(ctx),
      'user.update',
      `user:${username}`,
      { fields: Object.keys(change).join(',') },
      { before: publicUser(before), after: publicUser(updated) },
    );
    ctx.body = publicUser(updated);
  });

  router.delete('/:username', async (ctx) => {
    const username = parseUsername(ctx.params['username'], 'username');
    if (username === actor(ctx))
      throw new HttpError(409, 'you cannot delete yourself; another admin can', { code: 'conflict' });
    const before = await users.get(username);
    if (!before || !(await users.delete(username)))
      throw new HttpError(404, `user '${username}' not found`, { code: 'not-found' });
    await sessions.endAllOf(username);
    await audit.record(actor(ctx), 'user.delete', `user:${username}`, undefined, {
      before: publicUser(before),
      after: null,
    });
    ctx.status = 204;
  });

  return router;
}
