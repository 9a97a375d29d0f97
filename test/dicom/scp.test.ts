// The hub's C-STORE/C-ECHO SCP against dcmtk's echoscu and storescu (real processes on loopback), and against
// the hub's own SCU where a test needs to send bytes dcmtk refuses to send (truncated data sets).
import test, { type ExecutionContext } from 'ava';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connect } from 'node:net';
import { encodeCStoreRq } from '../../dicom/command.ts';
import { parseFileMeta } from '../../dicom/part10.ts';
import { encodeAssociateRq, pDataHeader } from '../../dicom/pdu.ts';
import { DicomScp, type StoredInstance } from '../../dicom/scp.ts';
import { sendFiles } from '../../dicom/scu.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { buildPart10, datasetOf, spec, writeInstance } from './make-instance.ts';
import { missingBinaries, removedAfterTests, runTool } from './peers.ts';

setLogLevel('error');
const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'dicom');

const tempDir = removedAfterTests(test);

test.before('dcmtk is installed (CI: apt-get install -y dcmtk)', (t) => {
  const missing = missingBinaries(['echoscu', 'storescu', 'dump2dcm', 'dcmdump']);
  if (missing.length > 0)
    t.fail(`dcmtk binaries missing: ${missing.join(', ')}; install with apt-get install -y dcmtk`);
  else t.pass();
});

interface Hub {
  scp: DicomScp;
  storageDir: string;
  stored: StoredInstance[];
}

async function startHub(
  t: ExecutionContext,
  options: { refuseRecord?: (instance: StoredInstance) => boolean } = {},
): Promise<Hub> {
  const storageDir = await tempDir('dicom-scp');
  const stored: StoredInstance[] = [];
  const scp = new DicomScp({
    aeTitle: 'RSO_HUB',
    host: '127.0.0.1',
    port: 0,
    storageDir,
    isKnownCallingAe: async (ae) => ae === 'CT_SCANNER' || ae === 'HUB_SCU',
    onInstanceStored: async (instance) => {
      if (options.refuseRecord?.(instance) === true) throw new Error('store is read-only');
      stored.push(instance);
    },
    stopTimeoutMs: 2000,
  });
  await scp.start();
  t.teardown(() => scp.stop());
  return { scp, storageDir, stored };
}

/** The store's files, after checking that temp files (in .incoming) hold nothing: spares are empty. */
async function storageListing(dir: string): Promise<string[]> {
  const incoming = path.join(dir, '.incoming');
  for (const name of await readdir(incoming)) {
    const size = (await stat(path.join(incoming, name))).size;
    if (size > 0) throw new Error(`half-written temp file left behind: ${name} (${size} bytes)`);
  }
  return (await readdir(dir)).filter((name) => name !== '.incoming').sort();
}

test('echoscu from a known facility AE is accepted', async (t) => {
  const hub = await startHub(t);
  const result = await runTool('echoscu', [
    '-v',
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(hub.scp.port),
  ]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr + result.stdout, /Received Echo Response \(Success\)/);
});

test('echoscu from an unknown AE is rejected: calling AE title not recognised', async (t) => {
  const hub = await startHub(t);
  const result = await runTool('echoscu', ['-aet', 'STRANGER', '-aec', 'RSO_HUB', '127.0.0.1', String(hub.scp.port)]);
  t.not(result.code, 0);
  t.regex(result.stderr, /Rejected Permanent, Source: Service User/);
  t.regex(result.stderr, /Calling AE Title Not Recognized/);
});

test('echoscu to another AE title is rejected: called AE title not recognised', async (t) => {
  const hub = await startHub(t);
  const result = await runTool('echoscu', [
    '-aet',
    'CT_SCANNER',
    '-aec',
    'OTHER_PACS',
    '127.0.0.1',
    String(hub.scp.port),
  ]);
  t.not(result.code, 0);
  t.regex(result.stderr, /Called AE Title Not Recognized/);
});

test('storescu sends MR, implicit and explicit CT in one association, then a JPEG; each is stored byte for byte and recorded', async (t) => {
  const hub = await startHub(t);
  const dir = await tempDir('dicom-src');
  const knee = path.join(dir, 'knee.dcm');
  const made = await runTool('dump2dcm', [path.join(fixtures, 'mr-knee.dump'), knee]);
  t.is(made.code, 0, made.stderr);
  const implicit = path.join(dir, 'implicit.dcm');
  const explicit = path.join(dir, 'explicit.dcm');
  const jpeg = path.join(dir, 'jpeg.dcm');
  await writeInstance(implicit, spec({ implicitVr: true, pixelBytes: 300_000 }));
  await writeInstance(explicit, spec({ pixelBytes: 1_500_000 }));
  await writeInstance(jpeg, spec({ encapsulated: true, pixelBytes: 200_001 }));
  const sources = [knee, implicit, explicit, jpeg];

  const result = await runTool('storescu', [
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(hub.scp.port),
    knee,
    implicit,
    explicit,
  ]);
  t.is(result.code, 0, result.stderr);
  // -xy: propose JPEG baseline too (storescu proposes only uncompressed syntaxes by default, and with -xy it
  // would transcode the implicit-VR file, so the JPEG goes in an association of its own).
  const compressed = await runTool('storescu', [
    '-xy',
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(hub.scp.port),
    jpeg,
  ]);
  t.is(compressed.code, 0, compressed.stderr);

  t.is(hub.stored.length, 4);
  t.is(
    new Set(hub.stored.slice(0, 3).map((instance) => instance.associationId)).size,
    1,
    'the first three arrived in one association',
  );
  t.is(hub.stored[3]!.transferSyntaxUid, '1.2.840.10008.1.2.4.50', 'JPEG baseline kept, not transcoded');
  for (const [source, instance] of sources.map((file, index) => [file, hub.stored[index]] as const)) {
    const sent = await readFile(source);
    const kept = await readFile(instance!.filePath);
    t.true(
      datasetOf(kept, instance!.filePath).equals(datasetOf(sent, source)),
      `${path.basename(source)}: stored data set differs from the sent one`,
    );
    t.is(instance!.transferSyntaxUid, parseFileMeta(sent, source).transferSyntaxUid);
  }
  const kneeRecord = hub.stored[0]!;
  t.like(kneeRecord, {
    callingAe: 'CT_SCANNER',
    calledAe: 'RSO_HUB',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.4',
    sopInstanceUid: '1.2.826.0.1.3680043.8.498.10001.3.1',
    studyInstanceUid: '1.2.826.0.1.3680043.8.498.10001.1',
    seriesInstanceUid: '1.2.826.0.1.3680043.8.498.10001.2',
    patientId: 'RSO-2024-000871',
    patientName: 'Brandt^Jonas',
    accessionNumber: 'A2024-0611-7',
    studyDate: '20240611',
    modality: 'MR',
  });
  t.is(kneeRecord.filePath, path.join(hub.storageDir, '1.2.826.0.1.3680043.8.498.10001.3.1.dcm'));
  t.is(hub.stored[1]!.patientName, 'Müller^Anna', 'UTF-8 names decode per (0008,0005) ISO_IR 192');

  // dcmtk reads what we wrote as a valid Part-10 file, meta header included.
  const dump = await runTool('dcmdump', [kneeRecord.filePath]);
  t.is(dump.code, 0, dump.stderr);
  t.regex(dump.stdout, /\(0002,0016\) AE \[CT_SCANNER\]/);
  t.regex(dump.stdout, /\(0010,0020\) LO \[RSO-2024-000871\]/);
  t.deepEqual(
    await storageListing(hub.storageDir),
    hub.stored.map((instance) => path.basename(instance.filePath)).sort(),
  );
});

test('a truncated data set gets 0xC000 and leaves nothing behind; the association goes on', async (t) => {
  const hub = await startHub(t);
  const dir = await tempDir('dicom-src');
  const whole = buildPart10(spec({ pixelBytes: 200_000, undefinedLengthSequence: true }));
  const truncated = path.join(dir, 'truncated.dcm');
  await writeFile(truncated, whole.subarray(0, whole.length - 5_000));
  const good = path.join(dir, 'good.dcm');
  await writeInstance(good, spec({ undefinedLengthSequence: true }));

  // dcmtk will not send a file it cannot parse, so the hub's SCU (which streams bytes unparsed) sends it.
  const outcomes = await sendFiles(
    { host: '127.0.0.1', port: hub.scp.port, calledAe: 'RSO_HUB', callingAe: 'HUB_SCU' },
    [truncated, good],
  );
  t.like(outcomes[0], { state: 'failure', status: 0xc000 });
  t.regex(outcomes[0]?.reason ?? '', /truncated/);
  t.like(outcomes[1], { state: 'success', status: 0 });
  t.is(hub.stored.length, 1);
  t.deepEqual(
    await storageListing(hub.storageDir),
    [path.basename(hub.stored[0]!.filePath)],
    'no .part or half-written file',
  );
});

test('a data set without SOP Instance UID gets 0xC000 naming (0008,0018)', async (t) => {
  const hub = await startHub(t);
  const dir = await tempDir('dicom-src');
  const file = path.join(dir, 'no-uid.dcm');
  await writeInstance(file, spec({ omit: ['SOPInstanceUID'] }));
  const [outcome] = await sendFiles(
    { host: '127.0.0.1', port: hub.scp.port, calledAe: 'RSO_HUB', callingAe: 'HUB_SCU' },
    [file],
  );
  t.like(outcome, { state: 'failure', status: 0xc000 });
  t.regex(outcome?.reason ?? '', /\(0008,0018\) SOP Instance UID is missing/);
  t.deepEqual(await storageListing(hub.storageDir), []);
});

test('when recording fails the sender gets 0xA700 (out of resources) and the file is removed; the next instance still succeeds', async (t) => {
  const refused = spec();
  const hub = await startHub(t, { refuseRecord: (instance) => instance.sopInstanceUid === refused.sopInstanceUid });
  const dir = await tempDir('dicom-src');
  const first = path.join(dir, 'refused.dcm');
  const second = path.join(dir, 'accepted.dcm');
  await writeInstance(first, refused);
  await writeInstance(second, spec());
  // -nh: storescu halts on the first failure by default; the point here is that the association goes on.
  const result = await runTool('storescu', [
    '-v',
    '-nh',
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(hub.scp.port),
    first,
    second,
  ]);
  t.regex(result.stderr + result.stdout, /Received Store Response \(Refused: OutOfResources\)/);
  t.regex(result.stderr + result.stdout, /Received Store Response \(Success\)/);
  t.is(hub.stored.length, 1);
  t.deepEqual(await storageListing(hub.storageDir), [path.basename(hub.stored[0]!.filePath)]);
});

test('stop() closes the listener and ends within its bound even with an idle association open', async (t) => {
  const hub = await startHub(t);
  const { connect } = await import('node:net');
  const idle = connect(hub.scp.port, '127.0.0.1');
  await new Promise((resolve) => idle.once('connect', resolve));
  const closed = new Promise((resolve) => idle.once('close', resolve));
  idle.resume();
  await hub.scp.stop();
  await closed;
  const refused = await runTool('echoscu', [
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(hub.scp.port),
  ]);
  t.not(refused.code, 0, 'nothing listens after stop()');
});

test('a sender that vanishes mid-instance leaves no temp file behind', async (t) => {
  const hub = await startHub(t);
  const instance = spec({ pixelBytes: 2_000_000 });
  const dataset = buildPart10(instance).subarray(0);
  const body = dataset.subarray(parseFileMeta(dataset, 'generated').datasetOffset);
  // A raw socket plays the sender, because no real SCU can be told to drop its connection half-way through.
  const socket = connect(hub.scp.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    encodeAssociateRq({
      calledAe: 'RSO_HUB',
      callingAe: 'CT_SCANNER',
      maxPduLength: 16384,
      contexts: [{ id: 1, abstractSyntax: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxes: ['1.2.840.10008.1.2.1'] }],
    }),
  );
  await new Promise((resolve) => socket.once('data', resolve));
  const command = encodeCStoreRq(1, '1.2.840.10008.5.1.4.1.1.2', instance.sopInstanceUid);
  const half = body.subarray(0, 1_000_000);
  socket.write(
    Buffer.concat([
      pDataHeader(1, command.length, true, true),
      command,
      pDataHeader(1, half.length, false, false),
      half,
    ]),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.destroy();
  await closed;
  // The hub notices the close a moment after the client does; give it up to a second to clean up.
  for (let attempt = 0; attempt < 50; attempt++) {
    const clean = await storageListing(hub.storageDir).then(
      (names) => names.length === 0,
      () => false,
    );
    if (clean) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.deepEqual(await storageListing(hub.storageDir), []);
  t.is(hub.stored.length, 0);
});

test('two modalities sending at the same time both get their instances stored', async (t) => {
  const hub = await startHub(t);
  const dir = await tempDir('dicom-src');
  const batches = [
    ['a1', 'a2', 'a3'],
    ['b1', 'b2', 'b3'],
  ].map((names) => names.map((name) => path.join(dir, `${name}.dcm`)));
  for (const file of batches.flat()) await writeInstance(file, spec({ pixelBytes: 400_000 }));
  const results = await Promise.all(
    batches.map((files) =>
      runTool('storescu', ['-aet', 'CT_SCANNER', '-aec', 'RSO_HUB', '127.0.0.1', String(hub.scp.port), ...files]),
    ),
  );
  for (const result of results) t.is(result.code, 0, result.stderr);
  t.is(hub.stored.length, 6);
  t.is(new Set(hub.stored.map((instance) => instance.associationId)).size, 2);
  t.is((await storageListing(hub.storageDir)).length, 6);
});

test('hand-over mode: onInstanceStored gets the complete, synced temp file to move, and a refused one is removed', async (t) => {
  const storageDir = await tempDir('dicom-scp-handover');
  const kept = path.join(storageDir, 'kept');
  const handed: string[] = [];
  const scp = new DicomScp({
    aeTitle: 'RSO_HUB',
    host: '127.0.0.1',
    port: 0,
    storageDir,
    handOver: true,
    isKnownCallingAe: (ae) => ae === 'CT_SCANNER',
    onInstanceStored: async (instance) => {
      handed.push(instance.filePath);
      if (instance.sopInstanceUid.endsWith('.2')) throw new Error('store is read-only');
      await mkdir(kept, { recursive: true });
      await rename(instance.filePath, path.join(kept, `${instance.sopInstanceUid}.dcm`));
    },
    stopTimeoutMs: 2000,
  });
  await scp.start();
  t.teardown(() => scp.stop());
  const dir = await tempDir('dicom-src');
  const first = spec({ pixelBytes: 400_000 });
  const files = [path.join(dir, 'a.dcm'), path.join(dir, 'b.dcm')];
  const sent = await writeInstance(files[0]!, { ...first, sopInstanceUid: '1.2.826.0.1.3680043.8.498.77.1' });
  await writeInstance(files[1]!, { ...spec({ pixelBytes: 1000 }), sopInstanceUid: '1.2.826.0.1.3680043.8.498.77.2' });
  const result = await runTool('storescu', [
    '-v',
    '-nh',
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(scp.port),
    ...files,
  ]);
  t.regex(result.stderr + result.stdout, /Received Store Response \(Success\)/);
  t.regex(
    result.stderr + result.stdout,
    /Received Store Response \(Refused: OutOfResources\)/,
    'the refused instance gets a failure status',
  );
  t.is(handed.length, 2);
  for (const handedPath of handed)
    t.is(path.dirname(handedPath), path.join(storageDir, '.incoming'), 'handed over from the temp folder');
  const moved = await readFile(path.join(kept, '1.2.826.0.1.3680043.8.498.77.1.dcm'));
  t.true(datasetOf(moved, 'moved').equals(datasetOf(sent, 'sent')), 'the handed-over file is the complete instance');
  t.deepEqual(
    await storageListing(storageDir),
    ['kept'],
    'nothing landed in the storage dir itself, and the refused temp file is gone',
  );
});
