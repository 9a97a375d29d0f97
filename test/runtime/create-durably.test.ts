// createDurably (runtime/create-durably.ts), how report files are written (the PDF threads' renders and uploaded
// scans): the data goes through O_DSYNC on a name that must not exist yet, and only then are the entries of the
// file's folder and of every folder above it up to the root synced. A power cut cannot be staged here, so the
// test watches the calls instead: the write's flags (node:fs/promises patched in this worker only) and the folder
// syncs (a DirectorySyncs whose sync records the folder).
import { constants } from 'node:fs';
import fsPromises, { mkdtemp, readFile, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createDurably } from '../../runtime/create-durably.ts';
import { DirectorySyncs } from '../../runtime/directory-syncs.ts';

test.serial(
  'the data is written through O_DSYNC first, then the entries of its folder and of every folder up to the root',
  async (t) => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'durable-'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const steps: string[] = [];
    const { writeFile } = fsPromises;
    fsPromises.writeFile = (async (...args: Parameters<typeof writeFile>) => {
      await writeFile(...args);
      const flag = (args[2] as { flag?: number }).flag ?? 0;
      const wanted = constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;
      steps.push(`write ${path.basename(String(args[0]))}${(flag & wanted) === wanted ? ' exclusive+dsync' : ''}`);
    }) as typeof writeFile;
    syncBuiltinESMExports();
    t.teardown(() => {
      fsPromises.writeFile = writeFile;
      syncBuiltinESMExports();
    });
    const syncs = new DirectorySyncs(async (directory) => {
      steps.push(`sync ${path.relative(root, directory) || '.'}`);
    });
    const bytes = Buffer.from('%PDF-1.3 a report');
    await createDurably(root, path.join('reports', 'R1', 'a.pdf'), bytes, syncs);
    t.deepEqual(await readFile(path.join(root, 'reports', 'R1', 'a.pdf')), bytes);
    t.deepEqual(steps, ['write a.pdf exclusive+dsync', 'sync reports/R1', 'sync reports', 'sync .']);

    // Into a folder that exists: still every folder up to the root (another writer's sync of them may be unfinished).
    steps.length = 0;
    await createDurably(root, path.join('reports', 'R1', 'b.pdf'), bytes, syncs);
    t.deepEqual(steps, ['write b.pdf exclusive+dsync', 'sync reports/R1', 'sync reports', 'sync .']);
  },
);

test('a name already taken is refused and the file there is left as it was', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'durable-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await createDurably(root, 'a.pdf', Buffer.from('first'));
  await t.throwsAsync(createDurably(root, 'a.pdf', Buffer.from('second')), { code: 'EEXIST' });
  t.is(await readFile(path.join(root, 'a.pdf'), 'utf8'), 'first');
});

test('a root given with a trailing slash or relative is walked up to and no further', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'durable-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const synced: string[] = [];
  const syncs = new DirectorySyncs(async (directory) => {
    synced.push(path.relative(root, directory) || '.');
  });
  await createDurably(`${root}/`, path.join('reports', 'R1', 'a.pdf'), Buffer.from('a'), syncs);
  t.deepEqual(synced, ['reports/R1', 'reports', '.']);
  synced.length = 0;
  await createDurably(path.relative(process.cwd(), root), path.join('reports', 'R1', 'b.pdf'), Buffer.from('b'), syncs);
  t.deepEqual(synced, ['reports/R1', 'reports', '.']);
  await t.throwsAsync(createDurably(root, path.join('..', 'outside.pdf'), Buffer.from('c'), syncs), {
    message: /is not inside/,
  });
});
