// Cookie sessions beside bearer tokens: a browser signs in once (admin-ui/session-routes.ts) and sends the
// `rso_session` cookie; a system keeps sending its bearer token. A cookie is sent by the browser on its own, so
// every state-changing request made with one must also carry the session's CSRF token in `x-csrf-token` (OWASP's
// "custom request header" defence, on top of SameSite=Strict). The store behind the sessions lives above this
// floor; http/ only knows the SessionResolver interface.
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { ApiUser } from './auth.ts';
import { HttpError } from './http-error.ts';
import { sessionIdOf } from './session-cookie.ts';

export interface ResolvedSession {
  user: ApiUser;
  csrfToken: string;
  /** The first admin and a user whose password an admin set: nothing but the password change until it is done. */
  mustChangePassword: boolean;
}

export interface SessionResolver {
  /** The live session with this id, its idle expiry renewed; undefined when unknown or expired. */
  resolve(sessionId: string): Promise<ResolvedSession | undefined>;
}

export interface SessionOptions {
  resolver: SessionResolver;
  /** Paths a session that must change its password may still use (reading itself, the change, sign-out). */
  passwordChangePaths: readonly string[];
}

export interface SessionState {
  session?: { id: string; csrfToken: string };
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export const csrfHeader = 'x-csrf-token';

/** The user of the request's session cookie, after the CSRF and password-change checks; undefined without one. */
export async function sessionUser(ctx: Context, options: SessionOptions): Promise<ApiUser | undefined> {
  const id = sessionIdOf(ctx);
  if (id === undefined) return undefined;
  const session = await options.resolver.resolve(id);
  if (!session) return undefined;
  if (!safeMethods.has(ctx.method) && !sameToken(ctx.get(csrfHeader), session.csrfToken)) {
    throw new HttpError(403, `a request made with the session cookie must send the ${csrfHeader} header`, {
      code: 'csrf',
    });
  }
  if (session.mustChangePassword && !options.passwordChangePaths.includes(ctx.path)) {
    throw new HttpError(403, 'the password must be changed first (POST /api/session/password)', {
      code: 'password-change-required',
    });
  }
  (ctx.state as SessionState).session = { id, csrfToken: session.csrfToken };
  return session.user;
}

function sameToken(sent: string, expected: string): boolean {
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
