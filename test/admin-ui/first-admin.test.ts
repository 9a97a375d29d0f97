// The first start of a real hub: it creates the console's admin with a random password in the data dir, says where
// in its log without saying the password, and the admin's browser session reaches the same /api a token does.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { consoleClient } from '../support/console-client.ts';
import { startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

test('the first start writes the admin password file, logs only its path, and the admin signs in', async (t) => {
  const hub = await startHub();
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const file = path.join(hub.dataDir, 'admin-password');
  t.is((await stat(file)).mode & 0o777, 0o600);
  const password = (await readFile(file, 'utf8')).trim();
  t.true(password.length >= 20);
  t.regex(hub.stdout(), /created the console user admin/);
  t.false(hub.stdout().includes(password) || hub.stderr().includes(password), 'the password is never logged');

  const browser = consoleClient(hub.url(''));
  t.is((await browser.signIn('admin', password)).status, 200);
  t.is((await browser.request('/api/channels')).status, 403, 'not before the password is changed');
  const changed = await browser.request('/api/session/password', {
    method: 'POST',
    json: { current: password, next: 'my own admin password' },
  });
  t.is(changed.status, 204);
  const channels = await browser.request('/api/channels');
  t.is(channels.status, 200);
  t.deepEqual(await channels.json(), []);
  const noToken = await browser.request('/api/channels/x/deploy', { method: 'POST', csrf: false });
  t.is(noToken.status, 403);
});
