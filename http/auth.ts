// Bearer-token authentication for /api and /fhir. Tokens are configured as SHA-256 hashes, so a leaked config
// file does not leak a usable credential; comparison is constant-time. Roles follow the RSO process (DESIGN.md):
// an admin changes configuration, the other roles read what their work needs.
import { hash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { HttpError } from './http-error.ts';
import { sessionUser, type SessionOptions } from './session-auth.ts';

// `viewer`: reads what analysts see in the console (channels, messages, queues, dashboard) and changes nothing.
// `metrics`: a scrape job's token, which reads /metrics and /health details and nothing else.
export const roles = [
  'admin',
  'analyst',
  'customer',
  'client-admin',
  'technician',
  'radiologist',
  'transcriber',
  'consultant',
  'integration',
  'viewer',
  'metrics',
] as const;
export type Role = (typeof roles)[number];
/** Every role but `metrics`: the roles that may use an API at all (each route narrows them further). */
export const apiRoles: readonly Role[] = roles.filter((role) => role !== 'metrics');

export interface ApiUser {
  name: string;
  roles: readonly Role[];
  /** Facilities this user is limited to; undefined means all (staff of the RSO itself). */
  facilities?: readonly string[];
}

export interface TokenEntry extends ApiUser {
  /** Hex SHA-256 of the token. */
  sha256: string;
}

export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

export class TokenAuthenticator {
  readonly #entries: ReadonlyArray<{ digest: Buffer; user: ApiUser }>;

  constructor(entries: readonly TokenEntry[]) {
    this.#entries = entries.map(({ sha256, ...user }) => ({ digest: Buffer.from(sha256, 'hex'), user }));
  }

  /** Checks every entry, so the time taken does not say which entry came close. */
  userFor(token: string): ApiUser | undefined {
    // The one-shot hash: a Hash object per request was ~2 % of a FHIR create's main-thread time.
    const digest = hash('sha256', token, 'buffer');
    let found: ApiUser | undefined;
    for (const entry of this.#entries) {
      if (entry.digest.length === digest.length && timingSafeEqual(entry.digest, digest)) found = entry.user;
    }
    return found;
  }
}

export interface AuthState {
  user: ApiUser;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Koa middleware: 401 with a WWW-Authenticate challenge (RFC 6750 3) unless a known bearer token is sent, or,
 * with `sessions`, the cookie of a live console session (http/session-auth.ts). A bearer token wins over a cookie.
 * The HttpError is rendered by the API's own error middleware (a problem, or an OperationOutcome for FHIR).
 */
export function requireAuth(auth: TokenAuthenticator, sessions?: SessionOptions) {
  return async (ctx: Context, next: Next): Promise<void> => {
    let user = userOf(auth, ctx);
    if (!user && sessions && bearerToken(ctx.get('authorization') || undefined) === undefined) {
      user = await sessionUser(ctx, sessions);
    }
    if (!user) {
      const sent = bearerToken(ctx.get('authorization') || undefined) !== undefined;
      const reason = sent ? 'the bearer token is not valid' : 'a bearer token is required';
      const challenge = `Bearer realm="rso-hub", error="invalid_token", error_description="${reason}"`;
      throw new HttpError(401, `unauthorized: ${reason}`, {
        code: 'login',
        headers: { 'WWW-Authenticate': challenge },
      });
    }
    (ctx.state as AuthState).user = user;
    await next();
  };
}

/** The user a request's bearer token names, if any; for routes that answer anonymous callers too (/health). */
export function userOf(auth: TokenAuthenticator, ctx: Context): ApiUser | undefined {
  const token = bearerToken(ctx.get('authorization') || undefined);
  return token === undefined ? undefined : auth.userFor(token);
}

/** 403 unless the authenticated user has one of the roles. */
export function requireRole(...allowed: Role[]) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const user = (ctx.state as Partial<AuthState>).user;
    if (!user?.roles.some((role) => allowed.includes(role))) {
      throw new HttpError(403, `requires one of the roles: ${allowed.join(', ')}`, { code: 'forbidden' });
    }
    await next();
  };
}

/** Roles that see how the hub runs (/metrics, /health details): its operators and a scrape job. */
export const monitorRoles: readonly Role[] = ['admin', 'analyst', 'metrics'];

/**
 * Metrics and health details name every channel, queue and listener: a token limited to some facilities is
 * refused them like the engine administration, whatever its roles.
 */
export function mayMonitor(user: ApiUser | undefined): boolean {
  return user !== undefined && user.facilities === undefined && user.roles.some((role) => monitorRoles.includes(role));
}

/** 403 unless the authenticated user may monitor the hub (mayMonitor). */
export async function requireMonitor(ctx: Context, next: Next): Promise<void> {
  if (!mayMonitor((ctx.state as Partial<AuthState>).user)) {
    const reason = `requires one of the roles ${monitorRoles.join(', ')} on a token not limited to facilities`;
    throw new HttpError(403, reason, { code: 'forbidden' });
  }
  await next();
}
