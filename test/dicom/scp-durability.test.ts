// "Success means on disk": the SCP lets the file's fdatasync run while the instance is moved and recorded (one
// sync round, not two), but its C-STORE answer must still wait for that fdatasync. The test holds back the real
// fdatasync (node:fs is patched for this worker only) and watches a real storescu, which cannot finish before it
// hears the answer; the wait before the release only gives a wrong implementation time to answer early.
import fs from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DicomScp, type StoredInstance } from '../../dicom/scp.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { datasetOf, spec, writeInstance } from './make-instance.ts';
import { missingBinaries, removedAfterTests, runTool } from './peers.ts';

setLogLevel('error');
const tempDir = removedAfterTests(test);

test.before('dcmtk is installed (CI: apt-get install -y dcmtk)', (t) => {
  const missing = missingBinaries(['storescu']);
  if (missing.length > 0)
    t.fail(`dcmtk binaries missing: ${missing.join(', ')}; install with apt-get install -y dcmtk`);
  else t.pass();
});

/** Holds every fdatasync of this worker until released; restored at the end of the test. */
function holdFdatasync(t: ExecutionContext): { held: Array<() => void> } {
  const original = fs.fdatasync;
  const held: Array<() => void> = [];
  fs.fdatasync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    held.push(() => original(fd, callback));
  }) as typeof fs.fdatasync;
  syncBuiltinESMExports();
  t.teardown(() => {
    fs.fdatasync = original;
    syncBuiltinESMExports();
    for (const release of held.splice(0)) release();
  });
  return { held };
}

async function sendOne(
  t: ExecutionContext,
  port: number,
): Promise<{ file: string; answered: () => boolean; done: ReturnType<typeof runTool> }> {
  const dir = await tempDir('dicom-src');
  const file = path.join(dir, 'one.dcm');
  await writeInstance(file, spec({ pixelBytes: 100_000 }));
  let answered = false;
  const done = runTool('storescu', ['-v', '-aet', 'CT_SCANNER', '-aec', 'RSO_HUB', '127.0.0.1', String(port), file]);
  void done.then(() => (answered = true));
  t.teardown(() => done);
  return { file, answered: () => answered, done };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Long enough for an answer sent too early to reach storescu and end it; no figure is asserted. */
const grace = () => new Promise((resolve) => setTimeout(resolve, 500));

test.serial(
  'hand-over mode: the instance is recorded while its fdatasync runs, and answered only after it',
  async (t) => {
    const { held } = holdFdatasync(t);
    const storageDir = await tempDir('dicom-scp-overlap');
    const kept = path.join(storageDir, 'kept.dcm');
    const recorded: StoredInstance[] = [];
    const scp = new DicomScp({
      aeTitle: 'RSO_HUB',
      host: '127.0.0.1',
      port: 0,
      storageDir,
      handOver: true,
      isKnownCallingAe: (ae) => ae === 'CT_SCANNER',
      onInstanceStored: async (instance, sealed) => {
        await rename(instance.filePath, kept);
        recorded.push(instance);
        await sealed;
      },
      stopTimeoutMs: 2000,
    });
    await scp.start();
    t.teardown(() => scp.stop());
    const send = await sendOne(t, scp.port);
    await until(() => recorded.length === 1 && held.length === 1);
    await grace();
    t.false(send.answered(), 'no answer while the data are not on disk');
    held.shift()!();
    const result = await send.done;
    t.is(result.code, 0, result.stderr);
    t.regex(result.stderr + result.stdout, /Received Store Response \(Success\)/);
    t.true(datasetOf(await readFile(kept), 'kept').equals(datasetOf(await readFile(send.file), 'sent')));
  },
);

test.serial(
  'landing in storageDir: a new instance is answered only after its fdatasync, and a failed one is not kept',
  async (t) => {
    const { held } = holdFdatasync(t);
    const storageDir = await tempDir('dicom-scp-link');
    const recorded: StoredInstance[] = [];
    const scp = new DicomScp({
      aeTitle: 'RSO_HUB',
      host: '127.0.0.1',
      port: 0,
      storageDir,
      isKnownCallingAe: (ae) => ae === 'CT_SCANNER',
      onInstanceStored: async (instance) => {
        recorded.push(instance);
      },
      stopTimeoutMs: 2000,
    });
    await scp.start();
    t.teardown(() => scp.stop());
    const first = await sendOne(t, scp.port);
    await until(() => held.length === 1);
    await grace();
    t.false(first.answered(), 'no answer while the data are not on disk');
    t.is(recorded.length, 0, 'not reported stored before the data are on disk');
    held.shift()!();
    t.is((await first.done).code, 0);
    t.is(recorded.length, 1);

    const original = fs.fdatasync;
    fs.fdatasync = ((_fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      const error: NodeJS.ErrnoException = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      setImmediate(() => callback(error));
    }) as typeof fs.fdatasync;
    syncBuiltinESMExports();
    t.teardown(() => {
      fs.fdatasync = original;
      syncBuiltinESMExports();
    });
    const second = await sendOne(t, scp.port);
    const result = await second.done;
    t.regex(result.stderr + result.stdout, /Received Store Response \(Refused: OutOfResources\)/);
    const names = fs.readdirSync(storageDir).filter((name) => name.endsWith('.dcm'));
    t.deepEqual(names, [`${recorded[0]!.sopInstanceUid}.dcm`], 'the instance whose sync failed left no file');
  },
);
