// ZIPs made by Info-ZIP and Python's zipfile, read by upload/zip-archive.ts: entries come out byte for byte, and an
// archive with a symbolic link, an absolute name, too many entries, or an entry that inflates past its declared
// size is refused before or while unpacking.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { extractEntry, readZipDirectory } from '../../upload/zip-archive.ts';

const run = promisify(execFile);
const limits = { maxEntries: 100, maxBytes: 10 * 2 ** 20 };

async function dir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'rso-zip-'));
}

async function pyZip(zip: string, entries: Array<[string, string]>, compress = true): Promise<void> {
  const script = `import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED if sys.argv[3]=='1' else zipfile.ZIP_STORED)\nfor n,d in json.loads(sys.argv[2]): z.writestr(n,d)\nz.close()`;
  await run('python3', ['-c', script, zip, JSON.stringify(entries), compress ? '1' : '0']);
}

test('entries of an Info-ZIP archive come out byte for byte, stored and deflated', async (t) => {
  const work = await dir();
  const random = randomBytes(50_000);
  await writeFile(path.join(work, 'a.bin'), random);
  await writeFile(path.join(work, 'b.txt'), 'x'.repeat(100_000));
  await run('zip', ['-q', '-0', 'stored.zip', 'a.bin'], { cwd: work });
  await run('zip', ['-q', '-9', 'deflated.zip', 'b.txt'], { cwd: work });
  for (const [zip, name, expected] of [
    ['stored.zip', 'a.bin', random],
    ['deflated.zip', 'b.txt', Buffer.from('x'.repeat(100_000))],
  ] as const) {
    const [entry] = await readZipDirectory(path.join(work, zip), limits);
    t.is(entry?.name, name);
    await extractEntry(path.join(work, zip), entry!, path.join(work, `${zip}.out`));
    t.deepEqual(await readFile(path.join(work, `${zip}.out`)), expected);
  }
});

test('a symbolic link, an absolute name or too many entries refuse the archive', async (t) => {
  const work = await dir();
  await writeFile(path.join(work, 'real.txt'), 'x');
  await symlink('/etc/passwd', path.join(work, 'link'));
  await run('zip', ['-q', '--symlinks', 'links.zip', 'real.txt', 'link'], { cwd: work });
  await t.throwsAsync(readZipDirectory(path.join(work, 'links.zip'), limits), { message: /"link" is a symbolic link/ });
  await pyZip(path.join(work, 'abs.zip'), [['/etc/cron.d/x', 'x']]);
  await t.throwsAsync(readZipDirectory(path.join(work, 'abs.zip'), limits), { message: /absolute path/ });
  await pyZip(path.join(work, 'win.zip'), [['ok\\..\\..\\x', 'x']]);
  await t.throwsAsync(readZipDirectory(path.join(work, 'win.zip'), limits), { message: /climbs out/ });
  await pyZip(path.join(work, 'many.zip'), [
    ['a', '1'],
    ['b', '2'],
    ['c', '3'],
  ]);
  await t.throwsAsync(readZipDirectory(path.join(work, 'many.zip'), { ...limits, maxEntries: 2 }), {
    message: /3 entries; at most 2/,
  });
});

test('an entry that inflates past its declared size stops there (a zip bomb)', async (t) => {
  const work = await dir();
  const zip = path.join(work, 'bomb.zip');
  await writeFile(path.join(work, 'bomb.bin'), Buffer.alloc(1_000_000));
  await run('zip', ['-q', '-9', zip, 'bomb.bin'], { cwd: work });
  const bytes = await readFile(zip);
  // Declare 1,000 bytes in the central directory (offset 24 of its header) and the local header (offset 22).
  const central = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bytes.writeUInt32LE(1000, central + 24);
  bytes.writeUInt32LE(1000, 22);
  await writeFile(zip, bytes);
  const [entry] = await readZipDirectory(zip, limits);
  await t.throwsAsync(extractEntry(zip, entry!, path.join(work, 'out')), { message: /past its declared size/ });
});
