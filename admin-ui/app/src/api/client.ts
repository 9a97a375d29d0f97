// Every request of the app goes through here: the session cookie rides along (same origin), a state-changing
// request carries the CSRF token the session handed out, and an error answer becomes an ApiError holding what the
// hub said and where (RFC 9457 problem `detail`/`path`/`issues`, or the session API's `{ error, code }`). A 401
// from any request tells the session it is over, so every screen returns to sign-in the same way.

export interface ApiIssue {
  text: string;
  path?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly path: string | undefined;
  readonly code: string | undefined;
  readonly issues: readonly ApiIssue[];
  /** Seconds, from Retry-After (a locked sign-in). */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    message: string,
    extra: Partial<Pick<ApiError, 'path' | 'code' | 'issues' | 'retryAfter'>>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.path = extra.path;
    this.code = extra.code;
    this.issues = extra.issues ?? [{ text: message, ...(extra.path === undefined ? {} : { path: extra.path }) }];
    this.retryAfter = extra.retryAfter;
  }
}

let csrfToken: string | undefined;
let unauthorized: (() => void) | undefined;

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when any request other than the session's own is answered 401. */
export function onUnauthorized(handler: (() => void) | undefined): void {
  unauthorized = handler;
}

const safeMethods = new Set(['GET', 'HEAD']);

/** The CSRF header for a request made without request() (a file upload to /dicomweb). */
export function csrfHeaders(): Record<string, string> {
  return csrfToken === undefined ? {} : { 'x-csrf-token': csrfToken };
}

/** `body` goes as JSON, or as multipart/form-data when it is a FormData (a file upload). */
export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  const form = body instanceof FormData;
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
  if (body !== undefined && !form) headers['content-type'] = 'application/json';
  if (!safeMethods.has(method) && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: form ? body : JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'The hub cannot be reached. Check that it is running, then try again.', {});
  }
  if (response.status === 401 && !path.startsWith('/api/session')) unauthorized?.();
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204 || response.status === 202) {
    const text = await response.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
  return (await response.json()) as T;
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // not JSON: a proxy's page or an empty body; the status says enough
  }
  const text = (key: string): string | undefined => (typeof body[key] === 'string' ? (body[key] as string) : undefined);
  const message = text('detail') ?? text('error') ?? text('title') ?? `The hub answered ${response.status}.`;
  const issues = Array.isArray(body['issues'])
    ? (body['issues'] as unknown[]).flatMap((i) =>
        isIssue(i) ? [{ text: i.text, ...(i.path ? { path: i.path } : {}) }] : [],
      )
    : undefined;
  const retry = Number(response.headers.get('retry-after'));
  const path = text('path');
  const code = text('code');
  return new ApiError(response.status, message, {
    ...(path === undefined ? {} : { path }),
    ...(code === undefined ? {} : { code }),
    ...(issues === undefined || issues.length === 0 ? {} : { issues }),
    ...(Number.isFinite(retry) && retry > 0 ? { retryAfter: retry } : {}),
  });
}

function isIssue(value: unknown): value is { text: string; path?: string } {
  return typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string';
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => request<T>('POST', path, body ?? {});
export const put = <T>(path: string, body: unknown): Promise<T> => request<T>('PUT', path, body);
export const patch = <T>(path: string, body: unknown): Promise<T> => request<T>('PATCH', path, body);
export const del = <T>(path: string): Promise<T> => request<T>('DELETE', path);

/** A query string from the set values only. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong in the console. Reload the page and try again.';
}
