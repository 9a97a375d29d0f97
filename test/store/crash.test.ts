// "A message that the hub has acknowledged is on disk": a process killed (SIGKILL, no shutdown code runs)
// while inserting loses none of the inserts whose promise had resolved, and the store opens cleanly after.
import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { EmbeddedStore } from '../../store/embedded/db.ts';

const worker = path.join(import.meta.dirname, 'insert-worker.ts');

test('inserts acknowledged before a SIGKILL are all there after reopening', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rso-crash-'));
  const file = path.join(dir, 'hub.sqlite');
  const child = spawn(process.execPath, [worker, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acknowledged: number[] = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  for await (const line of createInterface({ input: child.stdout })) {
    acknowledged.push(Number(line));
    if (acknowledged.length === 300) child.kill('SIGKILL');
  }
  t.is(await exited, 'SIGKILL');

  const store = new EmbeddedStore(file);
  try {
    const messages = store.db.collection('messages');
    const stored = new Set((await messages.find({}).toArray()).map((doc) => doc['n'] as number));
    t.true(acknowledged.length >= 300);
    t.deepEqual(
      acknowledged.filter((n) => !stored.has(n)),
      [],
      'every acknowledged insert survived',
    );
    // The unique index is intact too: inserting an acknowledged number again is refused.
    await t.throwsAsync(messages.insertOne({ n: acknowledged[0] }), { message: /E11000/ });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
