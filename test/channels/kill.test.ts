import test from 'ava';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { TestPeers, startEngine, tempDir, waitFor } from './harness.ts';

const child = new URL('kill-child.ts', import.meta.url).pathname;

test('kill -9 of a hub process: every accepted message is stored and delivered after a restart', async (t) => {
  const tmp = await tempDir('kill');
  const dataDir = path.join(tmp.dir, 'data');
  const outbox = path.join(tmp.dir, 'outbox');
  t.teardown(() => tmp.remove());

  const proc = spawn(process.execPath, [child, dataDir, outbox], { stdio: ['ignore', 'pipe', 'inherit'] });
  const accepted = new Map<string, number>();
  const lines = createInterface({ input: proc.stdout });
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    lines.on('line', (line) => {
      const [status, n, id] = line.split(' ');
      if (status === 'accepted' && id) accepted.set(id, Number(n));
      // Stop while it is mid-stream: some deliveries done, some queued, one probably in flight.
      if (accepted.size === 150) resolve();
    });
  });
  proc.removeAllListeners('exit');
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGKILL');
  await exited;

  const peers = new TestPeers();
  const { engine, close } = await startEngine(peers, dataDir, { owner: 'after-restart' });
  t.teardown(close);
  await engine.deployActive();
  const delivered = async () =>
    new Set(
      (await readdir(outbox).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)),
    );
  await waitFor(
    'every accepted message delivered',
    async () => {
      const files = await delivered();
      return [...accepted.keys()].every((id) => files.has(id));
    },
    30_000,
  );
  for (const [id, n] of accepted) {
    const stored = await engine.getMessage(id);
    t.is(stored?.raw, JSON.stringify({ n }), `message ${n} is stored`);
    t.is(JSON.parse(await readFile(path.join(outbox, `${id}.json`), 'utf8')).n, n);
  }
  await waitFor('an empty queue', async () => (await engine.queueDepths('kill'))[0]?.depth === 0, 30_000);
  t.true(accepted.size >= 150);
});
