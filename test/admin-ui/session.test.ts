// Signing in to the web console as a person does: the first admin's password from the data dir, the change it
// forces, the cookie's attributes, CSRF refusal, expiry, throttling and lockout, sign-out, and bearer tokens
// working beside it all.
import test from 'ava';
import { consoleClient } from '../support/console-client.ts';
import { bearerToken, startConsoleServer } from '../support/console-server.ts';

async function started(t: { teardown(fn: () => Promise<void>): void }, settings = {}) {
  const server = await startConsoleServer(settings);
  t.teardown(() => server.stop());
  return server;
}

async function signedInAdmin(server: Awaited<ReturnType<typeof started>>) {
  const browser = consoleClient(server.url);
  await browser.signIn('admin', server.adminPassword);
  const changed = await browser.request('/api/session/password', {
    method: 'POST',
    json: { current: server.adminPassword, next: 'a new long password' },
  });
  if (changed.status !== 204) throw new Error(`password change answered ${changed.status}`);
  return browser;
}

test('the first admin signs in with the generated password, must change it, and then may use the API', async (t) => {
  const server = await started(t);
  const browser = consoleClient(server.url);
  const signedIn = await browser.signIn('Admin', server.adminPassword);
  t.is(signedIn.status, 200);
  const cookie = signedIn.headers.getSetCookie()[0] ?? '';
  t.regex(cookie, /^rso_session=[A-Za-z0-9_-]{40,}; Path=\/; HttpOnly; SameSite=Strict$/);
  const body = (await signedIn.json()) as { user: Record<string, unknown>; csrfToken: string };
  t.deepEqual(body.user, { username: 'admin', name: 'Administrator', roles: ['admin'], mustChangePassword: true });
  t.truthy(body.csrfToken);

  const blocked = await browser.request('/api/probe');
  t.is(blocked.status, 403);
  t.like(await blocked.json(), { code: 'password-change-required' });
  t.is((await browser.request('/api/session')).status, 200);

  const wrongCurrent = await browser.request('/api/session/password', {
    method: 'POST',
    json: { current: 'not the password', next: 'a new long password' },
  });
  t.is(wrongCurrent.status, 400);
  t.like(await wrongCurrent.json(), { path: 'current' });
  const tooShort = await browser.request('/api/session/password', {
    method: 'POST',
    json: { current: server.adminPassword, next: 'short' },
  });
  t.like(await tooShort.json(), { status: 400, path: 'next' });
  const changed = await browser.request('/api/session/password', {
    method: 'POST',
    json: { current: server.adminPassword, next: 'a new long password' },
  });
  t.is(changed.status, 204);
  t.is((await browser.request('/api/probe')).status, 200);
  const session = (await (await browser.request('/api/session')).json()) as { user: { mustChangePassword: boolean } };
  t.false(session.user.mustChangePassword);

  const again = consoleClient(server.url);
  t.is((await again.signIn('admin', server.adminPassword)).status, 401);
  t.is((await again.signIn('admin', 'a new long password')).status, 200);
  const audit = await server.audit.recent(10);
  t.like(audit[0], { user: 'admin', action: 'user.password', target: 'user:admin' });
});

test('a state-changing request with the cookie but without the CSRF token is refused', async (t) => {
  const server = await started(t);
  const browser = await signedInAdmin(server);
  const refused = await browser.request('/api/probe', { method: 'POST', json: {}, csrf: false });
  t.is(refused.status, 403);
  t.like(await refused.json(), {
    code: 'csrf',
    error: 'a request made with the session cookie must send the x-csrf-token header',
  });
  const forged = await browser.request('/api/probe', {
    method: 'POST',
    json: {},
    csrf: false,
    headers: { 'x-csrf-token': 'guessed' },
  });
  t.is(forged.status, 403);
  t.is((await browser.request('/api/probe', { method: 'POST', json: {} })).status, 200);
  t.is((await browser.request('/api/session', { method: 'DELETE', csrf: false })).status, 403);
  // A system's bearer token needs no CSRF token: no browser sends it on its own.
  const system = await fetch(`${server.url}/api/probe`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearerToken}` },
  });
  t.is(system.status, 200);
});

test('a session ends after its idle time, and at its absolute limit even when used', async (t) => {
  const server = await started(t, { sessions: { idleSeconds: 600, absoluteSeconds: 3600 } });
  const browser = await signedInAdmin(server);
  server.clock.now += 590_000;
  t.is((await browser.request('/api/probe')).status, 200);
  server.clock.now += 590_000;
  t.is((await browser.request('/api/probe')).status, 200, 'used within the idle time, the session lives on');
  server.clock.now += 601_000;
  t.is((await browser.request('/api/probe')).status, 401, 'idle too long');
  t.is((await browser.request('/api/session')).status, 401);

  t.is((await browser.signIn('admin', 'a new long password')).status, 200);
  for (let minutes = 0; minutes < 60; minutes += 9) {
    t.is((await browser.request('/api/probe')).status, 200);
    server.clock.now += 9 * 60_000;
  }
  t.is((await browser.request('/api/probe')).status, 401, 'past the absolute limit');
});

test('sign-out ends the session on the server, not only in the browser', async (t) => {
  const server = await started(t);
  const browser = await signedInAdmin(server);
  const stolen = browser.cookie;
  const out = await browser.request('/api/session', { method: 'DELETE' });
  t.is(out.status, 204);
  t.regex(out.headers.getSetCookie()[0] ?? '', /^rso_session=; Max-Age=0;/);
  t.is(browser.cookie, undefined);
  const replay = await fetch(`${server.url}/api/session`, { headers: { cookie: stolen ?? '' } });
  t.is(replay.status, 401);
});

test('wrong passwords are answered alike for unknown users, then slowed, then locked out for a while', async (t) => {
  const server = await started(t, { signIn: { freeFailures: 2, maxFailures: 4, lockSeconds: 600 } });
  const browser = consoleClient(server.url);
  const unknown = await browser.signIn('nobody', 'whatever it is');
  const wrong = await browser.signIn('admin', 'whatever it is');
  t.is(unknown.status, 401);
  t.deepEqual(await unknown.json(), await wrong.json());

  t.is((await browser.signIn('admin', 'still wrong!')).status, 401);
  t.is((await browser.signIn('admin', 'wrong a third time')).status, 401);
  const waiting = await browser.signIn('admin', server.adminPassword);
  t.is(waiting.status, 429, 'past the free failures the next try waits, even with the right password');
  t.is(waiting.headers.get('retry-after'), '1');
  server.clock.now += 1000;
  t.is((await browser.signIn('admin', 'wrong a fourth time')).status, 401);
  const locked = await browser.signIn('admin', server.adminPassword);
  t.is(locked.status, 429);
  t.is(locked.headers.get('retry-after'), '600');
  t.like(await locked.json(), { code: 'throttled' });
  server.clock.now += 600_000;
  t.is((await browser.signIn('admin', server.adminPassword)).status, 200, 'the lock ends');
  t.is((await browser.signIn('nobody', 'whatever it is')).status, 401, 'another user name is not locked');
});

test('sign-in takes only JSON, so a form on another site cannot post it', async (t) => {
  const server = await started(t);
  const form = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `username=admin&password=${encodeURIComponent(server.adminPassword)}`,
  });
  t.is(form.status, 415);
  t.is(form.headers.getSetCookie().length, 0);
});
