// The two-command promise: the hub starts on its embedded store, answers /health, reuses its data on the next
// start, stops cleanly on SIGTERM, and a bad config or a busy port ends it with one clear line.
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import test from 'ava';
import { startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

const adminToken = 'test-admin-token';

test('a fresh hub creates its data dir, answers /health (its details with a token), and stops with exit 0 on SIGTERM', async (t) => {
  const hub = await startHub();
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const response = await fetch(hub.url('/health'), { headers: { authorization: `Bearer ${adminToken}` } });
  const body = (await response.json()) as { status: string; store: { ok: boolean; engine: string } };
  t.is(body.status, 'ok');
  t.deepEqual(body.store, { ok: true, engine: 'embedded' });
  t.true(existsSync(hub.dataDir));
  t.true((await readdir(hub.dataDir)).length > 0, 'the embedded store wrote its files');
  t.is(await stopHub(hub), 0);
});

test('a second start on the same data dir reuses its store and its generated token', async (t) => {
  const config = 'dataDir: {{dataDir}}\nhttp:\n  port: {{port}}\n';
  const first = await startHub({ config });
  t.teardown(() => void stopHub(first, 'SIGKILL'));
  await waitHealthy(first);
  const token = (await readFile(path.join(first.dataDir, 'admin-token'), 'utf8')).trim();
  const storeFile = (await readdir(first.dataDir)).find((f) => f.endsWith('.sqlite'));
  if (!storeFile) return t.fail('no embedded store file in the data dir');
  const inode = (await stat(path.join(first.dataDir, storeFile))).ino;
  t.is(await stopHub(first), 0);

  const second = await startHub({ config, dataDir: first.dataDir });
  t.teardown(() => void stopHub(second, 'SIGKILL'));
  await waitHealthy(second);
  t.is((await stat(path.join(second.dataDir, storeFile))).ino, inode, 'the same store file, not a new one');
  t.is((await fetch(second.url('/metrics'), { headers: { authorization: `Bearer ${token}` } })).status, 200);
  t.is(await stopHub(second), 0);
});

test('/metrics needs a bearer token and then speaks the Prometheus text format', async (t) => {
  const hub = await startHub();
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const anonymous = await fetch(hub.url('/metrics'));
  t.is(anonymous.status, 401);
  t.regex(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /);
  const wrong = await fetch(hub.url('/metrics'), { headers: { authorization: 'Bearer not-the-token' } });
  t.is(wrong.status, 401);
  const scraped = await fetch(hub.url('/metrics'), { headers: { authorization: `Bearer ${adminToken}` } });
  t.is(scraped.status, 200);
  t.regex(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await scraped.text();
  t.regex(text, /^# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes \d+$/m);
  // The event loop's busy time, as a counter a scraper turns into utilisation over its own window.
  const active = (body: string) =>
    Number(/^nodejs_eventloop_active_seconds_total (\S+)$/m.exec(body)?.[1] ?? Number.NaN);
  t.regex(text, /^# TYPE nodejs_eventloop_active_seconds_total counter$/m);
  t.regex(text, /^nodejs_eventloop_idle_seconds_total \d+(\.\d+)?(e[-+]\d+)?$/m);
  const again = await fetch(hub.url('/metrics'), { headers: { authorization: `Bearer ${adminToken}` } });
  t.true(active(await again.text()) > active(text), 'answering the first scrape kept the loop busy for a while');
  t.is(await stopHub(hub), 0);
});

test('a hub with no tokens configured writes an owner-only admin token instead of running open', async (t) => {
  const hub = await startHub({ config: 'dataDir: {{dataDir}}\nhttp:\n  port: {{port}}\n' });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const tokenFile = path.join(hub.dataDir, 'admin-token');
  t.is((await stat(tokenFile)).mode & 0o777, 0o600);
  const token = (await readFile(tokenFile, 'utf8')).trim();
  t.false(hub.stdout().includes(token), 'the token is never logged');
  t.is((await fetch(hub.url('/metrics'))).status, 401);
  t.is((await fetch(hub.url('/metrics'), { headers: { authorization: `Bearer ${token}` } })).status, 200);
  t.is(await stopHub(hub), 0);
});

test('a bad config ends the process with one line naming the file, the key and the problem', async (t) => {
  const hub = await startHub({ config: 'dataDir: {{dataDir}}\nhttp:\n  port: {{port}}\n  hots: 127.0.0.1\n' });
  t.not(await hub.exited, 0);
  const lines = hub.stderr().trim().split('\n');
  t.is(lines.length, 1);
  t.regex(
    lines[0] ?? '',
    /^rso-hub: .*hub\.yaml: http\.hots: unknown key \(expected one of: host, port, tls, limits\)$/,
  );
});

test('an HTTP port in use ends the process with one line naming the key', async (t) => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.teardown(() => void blocker.close());
  const address = blocker.address();
  if (address === null || typeof address === 'string') return t.fail();
  const hub = await startHub({ port: address.port });
  t.not(await hub.exited, 0);
  const lines = hub.stderr().trim().split('\n');
  t.is(lines.length, 1);
  t.regex(
    lines[0] ?? '',
    new RegExp(`^rso-hub: .*hub\\.yaml: http\\.port: 127\\.0\\.0\\.1:${address.port}: the port is already in use$`),
  );
});
