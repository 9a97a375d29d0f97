// Several hub processes on one embedded store (hub.workers) take turns at SQLite's write lock. A process that
// finds the lock held must not wait for it on its event loop (SQLite's busy handler sleeps there, and every
// socket of the process would stall): its writes wait off the loop and commit once the lock is free. The other
// process is played by a second SQLite connection in this test's own thread, which can only release the lock if
// the event loop keeps turning: with a blocking wait this test would hang until the busy timeout failed the write.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import test from 'ava';
import { EmbeddedStore } from '../../store/embedded/db.ts';

test('a write finding the lock held by another connection waits without blocking the event loop, then commits', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rso-lock-wait-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'hub.sqlite');
  const store = new EmbeddedStore(file);
  t.teardown(() => store.close());
  const items = store.db.collection<{ _id: string; n: number }>('items');
  await items.insertOne({ _id: 'before', n: 0 });

  const other = new DatabaseSync(file, { timeout: 1_000 });
  t.teardown(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  let settled = false;
  const writes = Promise.all([1, 2, 3].map((n) => items.insertOne({ _id: `while-${n}`, n }))).then(() => {
    settled = true;
  });
  // Several turns of the event loop pass while the lock is held elsewhere, and the writes wait.
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 5));
  t.false(settled, 'not committed while another connection holds the lock');
  other.exec('COMMIT');
  await writes;
  t.deepEqual((await items.find({}).toArray()).map((d) => d._id).sort(), ['before', 'while-1', 'while-2', 'while-3']);
});
