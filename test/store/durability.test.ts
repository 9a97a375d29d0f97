// "Resolved means on disk": a write's promise must not resolve before the WAL holding it has been fsynced.
// The test holds back the real fsync (node:fs is patched for this worker only) and watches the promise; no
// timing is involved – the promise is checked while the fsync has not been allowed to run at all.
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import test from 'ava';
import { openStore } from '../../store/open.ts';
import type { Logger } from '../../runtime/log.ts';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

test.serial('writes resolve only after the WAL is fsynced, and one fsync serves a whole group', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-durability-'));
  const store = await openStore({ dataDir: dir, log: quiet });
  const original = fs.fdatasync;
  const held: Array<() => void> = [];
  let syncs = 0;
  fs.fdatasync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    held.push(() =>
      original(fd, (error) => {
        syncs++;
        callback(error);
      }),
    );
  }) as typeof fs.fdatasync;
  syncBuiltinESMExports();
  try {
    const messages = store.db.collection('messages');
    const resolved: string[] = [];
    const writes = ['a', 'b', 'c'].map((id) => messages.insertOne({ _id: id } as never).then(() => resolved.push(id)));
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // Committed, but the fsync has not run: nobody may have been told the writes happened.
    await new Promise((resolve) => setImmediate(resolve));
    t.deepEqual(resolved, []);
    t.is(held.length, 1, 'the three writes of one turn wait for one fsync');
    held.shift()!();
    await Promise.all(writes);
    t.deepEqual(resolved, ['a', 'b', 'c']);
    t.is(syncs, 1);
  } finally {
    fs.fdatasync = original;
    syncBuiltinESMExports();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.serial(
  'writes that arrive while an fsync runs commit only after it, together, and share the next fsync',
  async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-durability-'));
    const store = await openStore({ dataDir: dir, log: quiet });
    const original = fs.fdatasync;
    const held: Array<() => void> = [];
    fs.fdatasync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      held.push(() => original(fd, callback));
    }) as typeof fs.fdatasync;
    syncBuiltinESMExports();
    try {
      const messages = store.db.collection('messages');
      const first = messages.insertOne({ _id: 'first' } as never);
      while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
      // The first write's fsync is held; these arrive in three separate turns of the event loop meanwhile.
      const later: Array<Promise<unknown>> = [];
      for (const id of ['x', 'y', 'z']) {
        later.push(messages.insertOne({ _id: id } as never));
        await new Promise((resolve) => setImmediate(resolve));
      }
      // They may already have run in this process's open transaction; what counts is what another connection
      // (another process) can see, i.e. what is committed.
      const outsider = new DatabaseSync(path.join(dir, 'hub.sqlite'), { readOnly: true });
      const committed = () => (outsider.prepare('SELECT count(*) AS n FROM "c:messages"').get() as { n: number }).n;
      let settled = 0;
      for (const write of later) void write.then(() => settled++);
      t.is(committed(), 1, 'not committed while the fsync before them runs');
      held.shift()!();
      await first;
      while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
      t.is(committed(), 4, 'committed together once it finished');
      t.is(held.length, 1, 'one fsync for the three');
      t.is(settled, 0, 'and not acknowledged before that fsync');
      held.shift()!();
      await Promise.all(later);
      outsider.close();
    } finally {
      fs.fdatasync = original;
      syncBuiltinESMExports();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
