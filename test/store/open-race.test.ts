// Several hub processes starting on a fresh data dir (`hub.workers`) open one new embedded store at the same
// moment. SQLite answered the change to WAL mode of all but one of them "database is locked" at once (the
// footprint of a hub.workers: 2 start failing 2 times in 20 on this machine); each must open it.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const worker = path.join(import.meta.dirname, 'open-worker.ts');
const rounds = 12;
const processes = 3;

function startOpener(file: string): { ready: Promise<void>; go(): void; done: Promise<string> } {
  const child = spawn(process.execPath, [worker, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  lines.on('line', (line) => line === 'ready' && markReady());
  const done = new Promise<string>((resolve) =>
    child.on('exit', (code) => resolve(code === 0 ? 'opened' : `exited ${code}: ${stderr.trim().split('\n')[0]}`)),
  );
  return { ready, done, go: () => child.stdin.end('go\n') };
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
