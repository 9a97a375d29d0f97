// Sign-in, the current session, sign-out and the password change of the web console (/api/session). The answer to
// a wrong password is the same for an unknown user; repeated failures are throttled (sign-in-throttle.ts) before
// the password is even checked, so a locked pair learns nothing more. Sign-in takes only a JSON body: a page of
// another site can post a form here, but not application/json without a CORS preflight the hub never grants.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { AuthState } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import type { SessionState } from '../http/session-auth.ts';
import { clearSessionCookie, sessionIdOf, setSessionCookie } from '../http/session-cookie.ts';
import type { Logger } from '../runtime/log.ts';
import { ValidationError, expectKeys, expectObject, expectString } from '../runtime/validate.ts';
import type { AuditLog } from './audit.ts';
import type { SessionStore } from './sessions.ts';
import type { SignInThrottle } from './sign-in-throttle.ts';
import { parseNextPassword, publicUser, type UserStore } from './users.ts';

export interface SessionRouteOptions {
  users: UserStore;
  sessions: SessionStore;
  throttle: SignInThrottle;
  audit: AuditLog;
  /** requireAuth with sessions: checks the CSRF token of sign-out and the password change. */
  auth: Middleware;
  log: Logger;
}

/** The paths a session that must change its password may still use. */
export const passwordChangePaths = ['/api/session', '/api/session/password'] as const;

const bodyLimit = 16 * 1024;

function refuseWhileThrottled(throttle: SignInThrottle, username: string, address: string): void {
  const wait = throttle.retryAfter(username, address);
  if (wait > 0) {
    throw new HttpError(429, `too many wrong passwords: try again in ${wait} s`, {
      code: 'throttled',
      headers: { 'Retry-After': String(wait) },
    });
  }
}

function ownSession(ctx: Context): { id: string; username: string } {
  const session = (ctx.state as SessionState).session;
  if (!session)
    throw new HttpError(401, 'this needs a console session (sign in at POST /api/session)', { code: 'login' });
  return { id: session.id, username: (ctx.state as AuthState).user.name };
}

export function createSessionRouter({ users, sessions, throttle, audit, auth, log }: SessionRouteOptions): Router {
  const router = new Router({ prefix: '/api/session' });

  router.post('/', async (ctx) => {
    if (!ctx.is('application/json'))
      throw new HttpError(415, 'sign in with a JSON body: {"username", "password"}', { code: 'structure' });
    const body = expectObject(await readJson(ctx, bodyLimit), '');
    expectKeys(body, '', ['username', 'password']);
    const username = expectString(body['username'], 'username').trim().toLowerCase();
    const password = expectString(body['password'], 'password');
    refuseWhileThrottled(throttle, username, ctx.ip);
    const record = await users.verify(username, password);
    if (!record) {
      throttle.failed(username, ctx.ip);
      log.info('sign-in refused', { username, address: ctx.ip });
      throw new HttpError(401, 'the user name or the password is wrong', { code: 'login' });
    }
    throttle.succeeded(username, ctx.ip);
    const { id, csrfToken } = await sessions.create(record._id);
    setSessionCookie(ctx, id);
    log.info('signed in', { username: record._id, address: ctx.ip });
    ctx.body = { user: publicUser(record), csrfToken };
  });

  router.get('/', async (ctx) => {
    const id = sessionIdOf(ctx);
    const session = id === undefined ? undefined : await sessions.resolve(id);
    if (!session) throw new HttpError(401, 'not signed in, or the session has ended', { code: 'login' });
    ctx.body = { user: publicUser(session.record), csrfToken: session.csrfToken };
  });

  router.delete('/', auth, async (ctx) => {
    const session = (ctx.state as SessionState).session;
    if (session) await sessions.end(session.id);
    clearSessionCookie(ctx);
    ctx.status = 204;
  });

  router.post('/password', auth, async (ctx) => {
    const { id, username } = ownSession(ctx);
    const body = expectObject(await readJson(ctx, bodyLimit), '');
    expectKeys(body, '', ['current', 'next']);
    const current = expectString(body['current'], 'current');
    const next = parseNextPassword(body['next'], 'next');
    if (next === current) throw new ValidationError('next', 'expected a password other than the current one');
    refuseWhileThrottled(throttle, username, ctx.ip);
    if (!(await users.verify(username, current))) {
      throttle.failed(username, ctx.ip);
      throw new ValidationError('current', 'the current password is wrong');
    }
    await users.setOwnPassword(username, next);
    await sessions.endAllOf(username, id);
    await audit.record(username, 'user.password', `user:${username}`);
    ctx.status = 204;
  });

  return router;
}
