// The console's session cookie, `rso_session`: HttpOnly (no script reads it), SameSite=Strict (no other site's
// page sends it), Secure on TLS, Path=/. It carries only a random id; the store keeps its SHA-256 (admin-ui/
// sessions.ts), so a copy of the store is no usable session. Parsed by hand: one cookie, RFC 6265 5.2 syntax.
import type { Context } from 'koa';

export const sessionCookieName = 'rso_session';

/** The session id the request's Cookie header carries, if any. */
export function sessionIdOf(ctx: Context): string | undefined {
  const header = ctx.get('cookie');
  if (header === '') return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== sessionCookieName) continue;
    const value = pair.slice(at + 1).trim();
    // Ids are base64url; anything else was not set by the hub and is not looked up.
    return /^[A-Za-z0-9_-]{20,200}$/.test(value) ? value : undefined;
  }
  return undefined;
}

function attributes(ctx: Context): string {
  return `Path=/; HttpOnly; SameSite=Strict${ctx.secure ? '; Secure' : ''}`;
}

/** No Max-Age: the cookie ends with the browser; the server's idle and absolute expiry end the session itself. */
export function setSessionCookie(ctx: Context, id: string): void {
  ctx.append('Set-Cookie', `${sessionCookieName}=${id}; ${attributes(ctx)}`);
}

export function clearSessionCookie(ctx: Context): void {
  ctx.append('Set-Cookie', `${sessionCookieName}=; Max-Age=0; ${attributes(ctx)}`);
}
