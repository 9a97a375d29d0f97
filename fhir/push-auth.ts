// The Authorization header for a push to a facility's FHIR server: a bearer token from an environment variable,
// or an OAuth2 client-credentials grant (RFC 6749 §4.4, client authenticated with HTTP Basic as §2.3.1 asks
// servers to support) whose access token is kept until shortly before it expires. Secrets are read from the
// environment at each use, never stored in config, and never written to a log or an error text.
import type { FhirPushAuth } from '../exams/report-destinations.ts';

export class PushAuthError extends Error {}

interface CachedToken {
  token: string;
  until: number;
}

/** Renew this long before the server says a token expires, so a token never runs out between read and use. */
const marginMs = 30_000;

export class PushAuth {
  readonly #cache = new Map<string, CachedToken>();
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** undefined for a server without auth; throws PushAuthError (its text names variables, not values). */
  async header(auth: FhirPushAuth | undefined): Promise<string | undefined> {
    if (auth === undefined) return undefined;
    if (auth.type === 'bearer') return `Bearer ${secret(auth.tokenEnv)}`;
    const key = cacheKey(auth);
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.until > Date.now()) return `Bearer ${cached.token}`;
    const fresh = await this.#grant(auth);
    this.#cache.set(key, fresh);
    return `Bearer ${fresh.token}`;
  }

  /** The server refused the token (401): the next header() asks for a new one. */
  forget(auth: FhirPushAuth | undefined): void {
    if (auth?.type === 'client-credentials') this.#cache.delete(cacheKey(auth));
  }

  async #grant(auth: Extract<FhirPushAuth, { type: 'client-credentials' }>): Promise<CachedToken> {
    const id = secret(auth.clientIdEnv);
    const key = secret(auth.clientSecretEnv);
    const basic = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(key)}`).toString('base64');
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope !== undefined) body.set('scope', auth.scope);
    let response: Response;
    try {
      response = await fetch(auth.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new PushAuthError(`token endpoint ${auth.tokenUrl} did not answer`, { cause: error });
    }
    if (!response.ok) throw new PushAuthError(`token endpoint ${auth.tokenUrl} answered ${response.status}`);
    const json = (await response.json().catch(() => undefined)) as
      | { access_token?: unknown; expires_in?: unknown }
      | undefined;
    if (typeof json?.access_token !== 'string' || json.access_token === '')
      throw new PushAuthError(`token endpoint ${auth.tokenUrl} sent no access_token`);
    const seconds = typeof json.expires_in === 'number' ? json.expires_in : 300;
    return { token: json.access_token, until: Date.now() + Math.max(0, seconds * 1000 - marginMs) };
  }
}

function cacheKey(auth: Extract<FhirPushAuth, { type: 'client-credentials' }>): string {
  return JSON.stringify([auth.tokenUrl, auth.clientIdEnv, auth.scope ?? '']);
}

function secret(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new PushAuthError(`environment variable ${name} is not set`);
  return value;
}
