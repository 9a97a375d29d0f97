// A source that must run in one process at a time (an exam-event reader, a drop-folder poller) under a lease in
// the store, with real processes on one embedded store: while both live, one runs it; kill -9 the one that
// runs it and the other takes it over, at once when the dead holder is a process of the same installation.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import test from 'ava';
import { until } from '../support/channels.ts';
import { openTestStore, tempDir } from './harness.ts';

const child = path.join(import.meta.dirname, 'singleton-child.ts');

function startChild(dataDir: string, ttlMs: number): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(process.execPath, [child, dataDir, String(ttlMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const ready = new Promise<void>((resolve) => lines.on('line', (line) => line === 'ready' && resolve()));
  process.once('exit', () => proc.kill('SIGKILL'));
  return { proc, ready };
}

test('of two processes one runs the source; killed with SIGKILL, the other takes it over at once', async (t) => {
  const { dir, remove } = await tempDir('singleton');
  t.teardown(remove);
  // A long lease: a takeover well before it ran out can only be the dead-pid rule.
  const ttlMs = 60_000;
  const a = startChild(dir, ttlMs);
  const b = startChild(dir, ttlMs);
  t.teardown(() => {
    a.proc.kill('SIGKILL');
    b.proc.kill('SIGKILL');
  });
  await Promise.all([a.ready, b.ready]);
  const store = await openTestStore(dir);
  t.teardown(() => store.close());
  const ticks = store.db.collection<{ pid: number; at: number }>('ticks');
  await until(async () => (await ticks.countDocuments({})) >= 20, 60_000, 'ticks of the running source');
  const runners = await ticks.distinct('pid', {});
  t.is(runners.length, 1, 'one process runs it');
  const holder = runners[0] === a.proc.pid ? a : b;
  const other = holder === a ? b : a;

  holder.proc.kill('SIGKILL');
  await once(holder.proc, 'exit');
  const killedAt = Date.now();
  await until(async () => (await ticks.countDocuments({ pid: other.proc.pid })) >= 10, 30_000, 'the other process');
  const firstOther = await ticks.find({ pid: other.proc.pid }).sort({ at: 1 }).limit(1).toArray();
  const lastDead = await ticks.find({ pid: holder.proc.pid }).sort({ at: -1 }).limit(1).toArray();
  t.log(`taken over ${firstOther[0]!.at - killedAt} ms after the kill (lease time ${ttlMs} ms)`);
  t.true(firstOther[0]!.at > lastDead[0]!.at, 'never both at once');
  t.deepEqual((await ticks.distinct('pid', {})).sort(), [a.proc.pid, b.proc.pid].sort());
  other.proc.kill('SIGTERM');
  t.is((await once(other.proc, 'exit'))[0], 0);
});
