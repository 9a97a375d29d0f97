// PatientID coercion on copies sent to the radiologist PACS: dcmtk's dcmdump reads the copy, and everything
// after the element (pixel data included) is byte-identical to the stored original, which stays untouched.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { parseFileMeta } from '../../dicom/part10.ts';
import { CoercionUnsupported, writeCoerced, writeWithPatientId } from '../../dicom/tag-coercion.ts';
import { tempDir } from '../support/hub-process.ts';
import { spec, writeInstance } from './make-instance.ts';
import { runTool } from './peers.ts';

async function dumpPatientId(file: string): Promise<string> {
  const dump = await runTool('dcmdump', ['+P', '0010,0020', file]);
  if (dump.code !== 0) throw new Error(`dcmdump failed: ${dump.stderr}`);
  return /\[([^\]]*)\]/.exec(dump.stdout)?.[1] ?? '';
}

for (const variant of [
  { name: 'explicit VR with an undefined-length sequence', implicitVr: false, undefinedLengthSequence: true },
  { name: 'implicit VR', implicitVr: true, undefinedLengthSequence: false },
  { name: 'encapsulated pixel data', implicitVr: false, undefinedLengthSequence: false, encapsulated: true },
]) {
  test(`PatientID is replaced in a copy (${variant.name}); the original is untouched`, async (t) => {
    const dir = await tempDir('coercion');
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const source = path.join(dir, 'original.dcm');
    const copy = path.join(dir, 'copy.dcm');
    const original = await writeInstance(source, spec({ patientId: 'V100200', ...variant }));
    await writeWithPatientId(source, copy, 'RSO-2026-000042');
    t.is(await dumpPatientId(copy), 'RSO-2026-000042');
    t.is(await dumpPatientId(source), 'V100200');
    t.true((await readFile(source)).equals(original));
    const coerced = await readFile(copy);
    t.is(parseFileMeta(coerced, 'copy').sopInstanceUid, parseFileMeta(original, 'original').sopInstanceUid);
    // 'V100200' (8 bytes padded) became 'RSO-2026-000042 ' (16): the tail is the same bytes, shifted.
    const tailLength = original.length - original.indexOf(Buffer.from('V100200', 'latin1')) - 8;
    t.true(coerced.subarray(coerced.length - tailLength).equals(original.subarray(original.length - tailLength)));
  });
}

test('an instance without PatientID gets one, in tag order', async (t) => {
  const dir = await tempDir('coercion');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const source = path.join(dir, 'original.dcm');
  const copy = path.join(dir, 'copy.dcm');
  await writeInstance(source, spec({ omit: ['PatientID'] }));
  await writeWithPatientId(source, copy, 'RSO-2026-000043');
  t.is(await dumpPatientId(copy), 'RSO-2026-000043');
});

test('AccessionNumber and PatientID are replaced together, in tag order, for both VR encodings', async (t) => {
  for (const implicitVr of [false, true]) {
    const dir = await tempDir('coercion');
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const source = path.join(dir, 'original.dcm');
    const copy = path.join(dir, 'copy.dcm');
    await writeInstance(source, spec({ patientId: 'V100201', accessionNumber: 'MODALITY-1', implicitVr }));
    await writeCoerced(source, copy, { patientId: 'RSO-2026-000045', accessionNumber: 'ACC-ORDER-77' });
    const dump = await runTool('dcmdump', ['+P', '0008,0050', '+P', '0010,0020', copy]);
    t.is(dump.code, 0, dump.stderr);
    t.deepEqual(
      [...dump.stdout.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]),
      ['ACC-ORDER-77', 'RSO-2026-000045'],
    );
    const full = await runTool('dcmdump', ['-q', copy]);
    t.is(full.code, 0, `${implicitVr ? 'implicit' : 'explicit'}: dcmdump reads the whole copy: ${full.stderr}`);
  }
  const tooLong = { accessionNumber: 'MORE-THAN-SIXTEEN-CHARS' };
  await t.throwsAsync(writeCoerced('unused', 'unused', tooLong), { instanceOf: CoercionUnsupported });
});

test('a deflated data set is not coerced', async (t) => {
  const dir = await tempDir('coercion');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const source = path.join(dir, 'original.dcm');
  await writeInstance(source, spec());
  const deflated = path.join(dir, 'deflated.dcm');
  const converted = await runTool('dcmconv', ['+td', source, deflated]);
  t.is(converted.code, 0, converted.stderr);
  await t.throwsAsync(writeWithPatientId(deflated, path.join(dir, 'copy.dcm'), 'RSO-2026-000044'), {
    instanceOf: CoercionUnsupported,
  });
});
