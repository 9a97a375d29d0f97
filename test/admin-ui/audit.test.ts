// The audit trail as an admin reads it in the console: newest first, a page at a time by cursor, filtered by
// target, user or action, with the object before and after each configuration change and never a password.
import test from 'ava';
import { consoleClient } from '../support/console-client.ts';
import { startConsoleServer } from '../support/console-server.ts';

interface Page {
  items: Array<{ id: string; user: string; action: string; target: string; before?: unknown; after?: unknown }>;
  next: string | null;
}

test('the audit trail pages by cursor, filters, and shows before and after of a user change', async (t) => {
  const server = await startConsoleServer();
  t.teardown(() => server.stop());
  const admin = consoleClient(server.url);
  await admin.signIn('admin', server.adminPassword);
  await admin.request('/api/session/password', {
    method: 'POST',
    json: { current: server.adminPassword, next: 'the admin password' },
  });
  for (const name of ['u1', 'u2', 'u3', 'u4']) {
    await admin.request('/api/users', {
      method: 'POST',
      json: { username: name, roles: ['viewer'], password: 'temporary password' },
    });
  }
  await admin.request('/api/users/u2', { method: 'PATCH', json: { roles: ['analyst'], password: 'a reset password' } });
  await admin.request('/api/users/u3', { method: 'DELETE' });

  const seen: string[] = [];
  let cursor: string | null = '';
  let pages = 0;
  while (cursor !== null) {
    const query: string = cursor === '' ? '' : `&cursor=${cursor}`;
    const page = (await (await admin.request(`/api/audit?limit=3${query}`)).json()) as Page;
    t.true(page.items.length <= 3);
    seen.push(...page.items.map((e) => `${e.action} ${e.target}`));
    cursor = page.next;
    pages++;
  }
  t.is(pages, 3);
  t.deepEqual(seen, [
    'user.delete user:u3',
    'user.update user:u2',
    'user.create user:u4',
    'user.create user:u3',
    'user.create user:u2',
    'user.create user:u1',
    'user.password user:admin',
  ]);

  const u2 = (await (await admin.request('/api/audit?target=user:u2')).json()) as Page;
  t.deepEqual(
    u2.items.map((e) => e.action),
    ['user.update', 'user.create'],
  );
  t.like(u2.items[0]?.before, { roles: ['viewer'], mustChangePassword: true });
  t.like(u2.items[0]?.after, { roles: ['analyst'], mustChangePassword: true });
  t.like(u2.items[1], { before: null, after: { username: 'u2' } });
  const deleted = (await (await admin.request('/api/audit?action=user.delete')).json()) as Page;
  t.like(deleted.items, [{ user: 'admin', before: { username: 'u3' }, after: null }]);
  const allUser = (await (await admin.request('/api/audit?action=user.&user=admin&limit=100')).json()) as Page;
  t.is(allUser.items.length, 7);
  t.is(allUser.next, null);
  const text = JSON.stringify(allUser);
  t.false(text.includes('a reset password') || text.includes('scrypt'), 'no password nor its hash');

  const bad = await admin.request('/api/audit?cursor=nonsense');
  t.like(await bad.json(), { status: 400, path: 'cursor' });
  const viewer = consoleClient(server.url);
  await viewer.signIn('u1', 'temporary password');
  await viewer.request('/api/session/password', {
    method: 'POST',
    json: { current: 'temporary password', next: 'u1 own password!' },
  });
  t.is((await viewer.request('/api/audit')).status, 403);
});
