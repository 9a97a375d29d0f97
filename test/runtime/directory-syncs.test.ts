// Grouped directory syncs (runtime/directory-syncs.ts): callers who ask while a sync of the same directory runs
// share the next one, which starts only after the running one ends, so everyone's entry is covered by a sync that
// began after they asked. The counting sync here is a stand-in for fsync, whose timing a test cannot hold; the
// last test runs the real one on a real directory.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { DirectorySyncs } from '../../runtime/directory-syncs.ts';

function heldSyncs() {
  const started: Array<{ directory: string; finish: () => void }> = [];
  const syncs = new DirectorySyncs(
    (directory) => new Promise<void>((resolve) => started.push({ directory, finish: resolve })),
  );
  return { syncs, started };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('callers who ask during a running sync share one sync that starts after it ends', async (t) => {
  const { syncs, started } = heldSyncs();
  const done: string[] = [];
  const first = syncs.sync('/d').then(() => done.push('first'));
  await settle();
  t.is(started.length, 1);
  const second = syncs.sync('/d').then(() => done.push('second'));
  const third = syncs.sync('/d').then(() => done.push('third'));
  await settle();
  t.is(started.length, 1, 'nothing more starts while one runs');

  started[0]!.finish();
  await first;
  await settle();
  t.deepEqual(done, ['first'], 'the running sync began before the later callers asked: it does not answer them');
  t.is(started.length, 2, 'one sync for both waiting callers');

  started[1]!.finish();
  await Promise.all([second, third]);
  t.deepEqual(done, ['first', 'second', 'third']);
});

test('syncs of different directories run side by side', async (t) => {
  const { syncs, started } = heldSyncs();
  const both = Promise.all([syncs.sync('/a'), syncs.sync('/b')]);
  await settle();
  t.deepEqual(
    started.map((s) => s.directory),
    ['/a', '/b'],
  );
  for (const s of started) s.finish();
  await both;
  t.pass();
});

test('a failed sync fails its callers, and the next caller gets a sync of its own', async (t) => {
  let calls = 0;
  const syncs = new DirectorySyncs(async () => {
    calls++;
    if (calls === 1) throw new Error('EIO');
  });
  await t.throwsAsync(syncs.sync('/d'), { message: 'EIO' });
  await syncs.sync('/d');
  t.is(calls, 2);
});

test('the real fsync of a directory with a new file in it', async (t) => {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'directory-syncs-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  await writeFile(path.join(directory, 'file'), 'x');
  await Promise.all(Array.from({ length: 8 }, () => new DirectorySyncs().sync(directory)));
  await t.throwsAsync(new DirectorySyncs().sync(path.join(directory, 'missing')), { code: 'ENOENT' });
});
