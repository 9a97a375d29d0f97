// An admin manages the console's users: creates an analyst and a read-only viewer, resets a password, changes
// roles, deletes a user; every change is audited, and nobody but an admin gets near it.
import test from 'ava';
import { consoleClient, type ConsoleClient } from '../support/console-client.ts';
import { startConsoleServer, type ConsoleServer } from '../support/console-server.ts';

async function started(t: { teardown(fn: () => Promise<void>): void }) {
  const server = await startConsoleServer();
  t.teardown(() => server.stop());
  const admin = consoleClient(server.url);
  await admin.signIn('admin', server.adminPassword);
  await admin.request('/api/session/password', {
    method: 'POST',
    json: { current: server.adminPassword, next: 'the admin password' },
  });
  return { server, admin };
}

async function newUserSignedIn(server: ConsoleServer, admin: ConsoleClient, username: string, roles: string[]) {
  const created = await admin.request('/api/users', {
    method: 'POST',
    json: { username, name: `${username} person`, roles, password: 'temporary password' },
  });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${await created.text()}`);
  const browser = consoleClient(server.url);
  await browser.signIn(username, 'temporary password');
  await browser.request('/api/session/password', {
    method: 'POST',
    json: { current: 'temporary password', next: `${username} own password` },
  });
  return browser;
}

test('an admin creates a read-only user, who reads but is refused every change', async (t) => {
  const { server, admin } = await started(t);
  const created = await admin.request('/api/users', {
    method: 'POST',
    json: { username: 'Vera', name: 'Vera Viewer', roles: ['viewer'], password: 'temporary password' },
  });
  t.is(created.status, 201);
  t.deepEqual(await created.json(), {
    username: 'vera',
    name: 'Vera Viewer',
    roles: ['viewer'],
    mustChangePassword: true,
  });
  const list = (await (await admin.request('/api/users')).json()) as Array<Record<string, unknown>>;
  t.deepEqual(
    list.map((u) => u['username']),
    ['admin', 'vera'],
  );
  t.false(JSON.stringify(list).includes('scrypt'), 'no password hash leaves the hub');

  const vera = consoleClient(server.url);
  await vera.signIn('vera', 'temporary password');
  await vera.request('/api/session/password', {
    method: 'POST',
    json: { current: 'temporary password', next: 'vera own password' },
  });
  t.is((await vera.request('/api/probe')).status, 200);
  t.is((await vera.request('/api/probe', { method: 'POST', json: {} })).status, 403);
  t.is((await vera.request('/api/users')).status, 403);
});

test('a new user is refused at the field: a taken name, an unknown role, a short password', async (t) => {
  const { admin } = await started(t);
  const taken = await admin.request('/api/users', {
    method: 'POST',
    json: { username: 'ADMIN', roles: ['admin'], password: 'long enough password' },
  });
  t.is(taken.status, 409);
  t.like(await taken.json(), { path: 'username', code: 'duplicate' });
  const role = await admin.request('/api/users', {
    method: 'POST',
    json: { username: 'x', roles: ['root'], password: 'long enough password' },
  });
  t.like(await role.json(), { status: 400, path: 'roles[0]' });
  const short = await admin.request('/api/users', {
    method: 'POST',
    json: { username: 'x', roles: ['analyst'], password: 'short' },
  });
  t.like(await short.json(), { status: 400, path: 'password' });
});

test('a password reset ends the user sessions and asks for a new password; deleting ends them too', async (t) => {
  const { server, admin } = await started(t);
  const anna = await newUserSignedIn(server, admin, 'anna', ['analyst']);
  t.is((await anna.request('/api/probe', { method: 'POST', json: {} })).status, 200);

  const reset = await admin.request('/api/users/anna', { method: 'PATCH', json: { password: 'reset by admin' } });
  t.like(await reset.json(), { username: 'anna', mustChangePassword: true });
  t.is((await anna.request('/api/probe')).status, 401);
  await anna.signIn('anna', 'reset by admin');
  t.is((await anna.request('/api/probe')).status, 403);

  const roles = await admin.request('/api/users/anna', { method: 'PATCH', json: { roles: ['viewer'], name: 'Anna' } });
  t.like(await roles.json(), { name: 'Anna', roles: ['viewer'] });

  t.is((await admin.request('/api/users/anna', { method: 'DELETE' })).status, 204);
  t.is((await anna.request('/api/session')).status, 401);
  t.is((await admin.request('/api/users/anna', { method: 'DELETE' })).status, 404);
  const self = await admin.request('/api/users/admin', { method: 'DELETE' });
  t.is(self.status, 409);
  t.like(await self.json(), { code: 'conflict' });

  const actions = (await server.audit.recent(10)).map((e) => `${e.user} ${e.action} ${e.target}`);
  t.true(actions.includes('admin user.create user:anna'));
  t.true(actions.includes('admin user.update user:anna'));
  t.true(actions.includes('admin user.delete user:anna'));
});

test('an analyst cannot manage users', async (t) => {
  const { server, admin } = await started(t);
  const anna = await newUserSignedIn(server, admin, 'anna', ['analyst']);
  t.is((await anna.request('/api/users')).status, 403);
  t.is((await anna.request('/api/users/admin', { method: 'DELETE' })).status, 403);
});
