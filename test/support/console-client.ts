// A browser's side of the console's session, for API tests: it keeps the `rso_session` cookie the hub sets and
// sends the CSRF token on state-changing requests, as the web app does. `csrf: false` leaves the header off, to
// show the refusal.
export interface ConsoleClient {
  cookie: string | undefined;
  csrfToken: string | undefined;
  request(path: string, init?: RequestInit & { csrf?: boolean; json?: unknown }): Promise<Response>;
  signIn(username: string, password: string): Promise<Response>;
}

export function consoleClient(baseUrl: string): ConsoleClient {
  const client: ConsoleClient = {
    cookie: undefined,
    csrfToken: undefined,
    async request(path, init = {}) {
      const { csrf = true, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (client.cookie !== undefined) headers.set('cookie', client.cookie);
      const method = (rest.method ?? 'GET').toUpperCase();
      if (csrf && client.csrfToken !== undefined && !['GET', 'HEAD'].includes(method))
        headers.set('x-csrf-token', client.csrfToken);
      let body = rest.body;
      if (json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(json);
      }
      const response = await fetch(`${baseUrl}${path}`, { ...rest, headers, ...(body === undefined ? {} : { body }) });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const value = pair?.split('=')[1] ?? '';
        client.cookie = value === '' ? undefined : `rso_session=${value}`;
      }
      return response;
    },
    async signIn(username, password) {
      const response = await client.request('/api/session', { method: 'POST', json: { username, password } });
      if (response.ok) client.csrfToken = ((await response.clone().json()) as { csrfToken: string }).csrfToken;
      return response;
    },
  };
  return client;
}
