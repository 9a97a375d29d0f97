// Several hub processes starting on a fresh data dir (`hub.workers`) open one new embedded store at the same
// moment. SQLite answered the change to WAL mode of all but one of them "database is locked" at once (a
// hub.workers: 2 start failed 2 times in 20 on this machine); each must open it.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startReleasedChild } from './released-child.ts';

const worker = path.join(import.meta.dirname, 'open-worker.ts');
const rounds = 12;
const processes = 3;

/** Resolves 'opened', or how the child failed. */
function startOpener(file: string): { ready: Promise<void>; go(): void; done: Promise<string> } {
  const child = startReleasedChild(worker, [file]);
  const done = child.exited.then(({ code, error }) => (code === 0 ? 'opened' : `exited ${code}: ${error}`));
  return { ready: child.ready, go: child.go, done };
}

test('processes opening one new store at the same moment all open it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-open-race-'));
  try {
    for (let round = 0; round < rounds; round++) {
      const file = path.join(dir, `round-${round}`, 'hub.sqlite');
      const openers = Array.from({ length: processes }, () => startOpener(file));
      await Promise.all(openers.map((opener) => opener.ready));
      for (const opener of openers) opener.go();
      t.deepEqual(
        await Promise.all(openers.map((opener) => opener.done)),
        Array(processes).fill('opened'),
        `round ${round}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
