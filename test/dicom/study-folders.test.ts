// The study folders instances are moved into: created on first use, kept open, and created again when a kept
// folder was removed from outside meanwhile.
import test from 'ava';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StudyFolders } from '../../dicom/study-folders.ts';
import { openPaths } from '../support/open-files.ts';

async function setup(t: import('ava').ExecutionContext) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'study-folders-'));
  const folders = new StudyFolders(path.join(dir, 'studies'));
  t.teardown(async () => {
    await folders.close();
    await rm(dir, { recursive: true, force: true });
  });
  let n = 0;
  const incoming = async (text: string): Promise<string> => {
    const file = path.join(dir, `incoming-${n++}`);
    await writeFile(file, text);
    return file;
  };
  return { dir, folders, incoming };
}

test('instances of a study go into its folder', async (t) => {
  const { dir, folders, incoming } = await setup(t);
  const first = folders.move(await incoming('one'), '1.2.3', 'a.dcm', true);
  await first.synced;
  const second = folders.move(await incoming('two'), '1.2.3', 'b.dcm', true);
  await second.synced;
  t.is(first.filePath, path.join(dir, 'studies', '1.2.3', 'a.dcm'));
  t.deepEqual((await readdir(path.join(dir, 'studies', '1.2.3'))).sort(), ['a.dcm', 'b.dcm']);
  t.is(await readFile(second.filePath, 'utf8'), 'two');
});

test('a kept folder removed meanwhile is created again, and its moves are synced on the new folder', async (t) => {
  const { dir, folders, incoming } = await setup(t);
  const studyFolder = path.join(dir, 'studies', '1.2.3');
  await folders.move(await incoming('one'), '1.2.3', 'a.dcm', true).synced;
  t.true((await openPaths()).includes(studyFolder), 'the folder is kept open');
  // The study is deleted from outside while its folder is still kept open.
  await rm(studyFolder, { recursive: true });
  await folders.move(await incoming('two'), '1.2.3', 'b.dcm', true).synced;
  await folders.move(await incoming('three'), '1.2.3', 'c.dcm', true).synced;
  t.deepEqual((await readdir(studyFolder)).sort(), ['b.dcm', 'c.dcm']);
  // Once its last fsync is done a let-go handle closes; what stays open is the new folder, not the removed one.
  for (let i = 0; i < 100 && (await openPaths()).includes(`${studyFolder} (deleted)`); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  const open = await openPaths();
  t.false(open.includes(`${studyFolder} (deleted)`), 'no handle of the removed folder is kept');
  t.true(open.includes(studyFolder));
});

test('a source file that is not there is an error, and the study folder keeps what it had', async (t) => {
  const { dir, folders, incoming } = await setup(t);
  await folders.move(await incoming('one'), '1.2.3', 'a.dcm', true).synced;
  t.throws(() => folders.move(path.join(dir, 'missing'), '1.2.3', 'b.dcm', true), { code: 'ENOENT' });
  t.deepEqual(await readdir(path.join(dir, 'studies', '1.2.3')), ['a.dcm']);
});

test('the storage folder removed above the studies is created again, and no handle of the removed one is kept', async (t) => {
  const { dir, incoming } = await setup(t);
  const storage = path.join(dir, 'storage');
  const folders = new StudyFolders(path.join(storage, 'studies'));
  t.teardown(() => folders.close());
  await folders.move(await incoming('one'), '1.2.3', 'a.dcm', true).synced;
  // Removed above the studies folder: the next move creates the storage folder first, then the rest.
  await rm(storage, { recursive: true });
  await folders.move(await incoming('two'), '1.2.3', 'b.dcm', true).synced;
  t.deepEqual(await readdir(path.join(storage, 'studies', '1.2.3')), ['b.dcm']);
  for (let i = 0; i < 100 && (await openPaths()).some((p) => p.endsWith(' (deleted)')); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  t.deepEqual(
    (await openPaths()).filter((p) => p.startsWith(storage) && p.endsWith(' (deleted)')),
    [],
  );
});
