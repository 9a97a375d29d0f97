// The hub's C-STORE SCU sending stored Part-10 files to real peers: dcmtk's storescp, Orthanc (a real PACS, seen
// through its REST API), the hub's own SCP, and nobody at all.
import test from 'ava';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer } from 'node:net';
import { parseFileMeta } from '../../dicom/part10.ts';
import { decodeAssociateRq, encodeAssociateAc } from '../../dicom/pdu.ts';
import { DicomScp, type StoredInstance } from '../../dicom/scp.ts';
import { sendFiles } from '../../dicom/scu.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { freePort } from '../support/hub-process.ts';
import { openPaths } from '../support/open-files.ts';
import { datasetOf, spec, writeInstance } from './make-instance.ts';
import { missingBinaries, removedAfterTests, runTool, startOrthanc, startStorescp } from './peers.ts';

setLogLevel('error');
const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'dicom');

const tempDir = removedAfterTests(test);

test.before('dcmtk and Orthanc are installed (CI: apt-get install -y dcmtk orthanc)', (t) => {
  const missing = missingBinaries(['storescp', 'dump2dcm', 'dcmconv', 'Orthanc']);
  if (missing.length > 0)
    t.fail(`peer binaries missing: ${missing.join(', ')}; install with apt-get install -y dcmtk orthanc`);
  else t.pass();
});

/** An MR from dump2dcm, a small implicit-VR CT and a 3 MB explicit-VR CT: three presentation contexts. */
async function study(): Promise<string[]> {
  const dir = await tempDir('dicom-scu-src');
  const knee = path.join(dir, 'knee.dcm');
  const made = await runTool('dump2dcm', [path.join(fixtures, 'mr-knee.dump'), knee]);
  if (made.code !== 0) throw new Error(`dump2dcm failed: ${made.stderr}`);
  const base = spec();
  const implicit = path.join(dir, 'ct-implicit.dcm');
  const large = path.join(dir, 'ct-large.dcm');
  await writeInstance(implicit, { ...spec({ implicitVr: true }), studyInstanceUid: base.studyInstanceUid });
  await writeInstance(large, { ...spec({ pixelBytes: 3_000_000 }), studyInstanceUid: base.studyInstanceUid });
  return [knee, implicit, large];
}

test('files sent to storescp arrive in one association with byte-identical data sets', async (t) => {
  const files = await study();
  const out = await tempDir('dicom-storescp');
  const peer = await startStorescp(out);
  t.teardown(() => peer.stop());

  const outcomes = await sendFiles(
    { host: '127.0.0.1', port: peer.port, calledAe: peer.aeTitle, callingAe: 'RSO_HUB' },
    files,
  );
  t.deepEqual(
    outcomes.map((outcome) => outcome.state),
    ['success', 'success', 'success'],
  );

  const received = await readdir(out);
  t.is(received.length, 3);
  for (const file of files) {
    const sent = await readFile(file);
    const uid = parseFileMeta(sent, file).sopInstanceUid;
    const match = received.find((name) => name.endsWith(uid));
    t.truthy(match, `${path.basename(file)} (${uid}) did not arrive`);
    const kept = await readFile(path.join(out, match!));
    t.true(
      datasetOf(kept, match!).equals(datasetOf(sent, file)),
      `${path.basename(file)}: data set changed on the way`,
    );
    t.is(
      parseFileMeta(kept, match!).transferSyntaxUid,
      parseFileMeta(sent, file).transferSyntaxUid,
      'sent in its stored transfer syntax',
    );
  }
});

test('a study sent to Orthanc shows up in its REST API', async (t) => {
  const files = await study();
  const dir = await tempDir('dicom-orthanc');
  const orthanc = await startOrthanc(dir, 'RSO_HUB');
  t.teardown(() => orthanc.stop());

  const outcomes = await sendFiles(
    { host: '127.0.0.1', port: orthanc.port, calledAe: orthanc.aeTitle, callingAe: 'RSO_HUB' },
    files,
  );
  t.deepEqual(
    outcomes.map((outcome) => outcome.state),
    ['success', 'success', 'success'],
  );
  const instances = (await orthanc.get('/instances')) as unknown[];
  t.is(instances.length, 3);
  const patients = (await orthanc.get('/patients?expand')) as { MainDicomTags: { PatientID?: string } }[];
  t.true(patients.some((patient) => patient.MainDicomTags.PatientID === 'RSO-2024-000871'));
});

test('with the peer down every file is reported as not sent', async (t) => {
  const files = await study();
  const port = await freePort();
  const outcomes = await sendFiles({ host: '127.0.0.1', port, calledAe: 'NOBODY', callingAe: 'RSO_HUB' }, files, {
    connectTimeoutMs: 2000,
  });
  t.is(outcomes.length, 3);
  for (const outcome of outcomes) {
    t.is(outcome.state, 'not-sent');
    t.regex(outcome.reason ?? '', /ECONNREFUSED/);
  }
});

test('a peer that rejects the association leaves every file not sent, with the reason', async (t) => {
  const files = await study();
  const storageDir = await tempDir('dicom-scp');
  const scp = new DicomScp({
    aeTitle: 'PACS',
    host: '127.0.0.1',
    port: 0,
    storageDir,
    isKnownCallingAe: () => false,
    onInstanceStored: async () => undefined,
  });
  await scp.start();
  t.teardown(() => scp.stop());
  const outcomes = await sendFiles(
    { host: '127.0.0.1', port: scp.port, calledAe: 'PACS', callingAe: 'RSO_HUB' },
    files,
  );
  t.deepEqual(
    outcomes.map((outcome) => outcome.state),
    ['not-sent', 'not-sent', 'not-sent'],
  );
  t.regex(outcomes[0]?.reason ?? '', /calling AE title not recognised/);
});

test('a file whose transfer syntax the peer refuses is not sent; the others are', async (t) => {
  const files = await study();
  const bigEndian = path.join(path.dirname(files[0]!), 'knee-big-endian.dcm');
  const converted = await runTool('dcmconv', ['--write-xfer-big', files[0]!, bigEndian]);
  t.is(converted.code, 0, converted.stderr);
  const storageDir = await tempDir('dicom-scp');
  const scp = new DicomScp({
    aeTitle: 'PACS',
    host: '127.0.0.1',
    port: 0,
    storageDir,
    isKnownCallingAe: () => true,
    onInstanceStored: async () => undefined,
  });
  await scp.start();
  t.teardown(() => scp.stop());

  // The hub SCP does not accept the retired explicit big endian syntax (it stores data sets unchanged).
  const outcomes = await sendFiles({ host: '127.0.0.1', port: scp.port, calledAe: 'PACS', callingAe: 'RSO_HUB' }, [
    bigEndian,
    files[1]!,
    files[2]!,
  ]);
  t.is(outcomes[0]?.state, 'not-sent');
  t.regex(outcomes[0]?.reason ?? '', /rejected presentation context .* 1\.2\.840\.10008\.1\.2\.2$/);
  t.deepEqual(
    outcomes.slice(1).map((outcome) => outcome.state),
    ['success', 'success'],
  );
});

test('a deflated instance is forwarded deflated, stored as received, and its header still read', async (t) => {
  const files = await study();
  const deflated = path.join(path.dirname(files[0]!), 'knee-deflated.dcm');
  const converted = await runTool('dcmconv', ['--write-xfer-deflated', files[0]!, deflated]);
  t.is(converted.code, 0, converted.stderr);
  const storageDir = await tempDir('dicom-scp');
  const stored: StoredInstance[] = [];
  const scp = new DicomScp({
    aeTitle: 'PACS',
    host: '127.0.0.1',
    port: 0,
    storageDir,
    isKnownCallingAe: () => true,
    onInstanceStored: async (instance) => void stored.push(instance),
  });
  await scp.start();
  t.teardown(() => scp.stop());

  const [outcome] = await sendFiles({ host: '127.0.0.1', port: scp.port, calledAe: 'PACS', callingAe: 'RSO_HUB' }, [
    deflated,
  ]);
  t.like(outcome, { state: 'success', status: 0 });
  t.like(stored[0], {
    transferSyntaxUid: '1.2.840.10008.1.2.1.99',
    patientId: 'RSO-2024-000871',
    accessionNumber: 'A2024-0611-7',
  });
  const sent = await readFile(deflated);
  const kept = await readFile(stored[0]!.filePath);
  t.true(datasetOf(kept, 'stored').equals(datasetOf(sent, deflated)));
});

test('an unreadable file is not sent and does not stop the others', async (t) => {
  const files = await study();
  const storageDir = await tempDir('dicom-scp');
  const scp = new DicomScp({
    aeTitle: 'PACS',
    host: '127.0.0.1',
    port: 0,
    storageDir,
    isKnownCallingAe: () => true,
    onInstanceStored: async () => undefined,
  });
  await scp.start();
  t.teardown(() => scp.stop());
  const missing = path.join(path.dirname(files[0]!), 'gone.dcm');
  const notDicom = path.join(fixtures, 'mr-knee.dump');
  const outcomes = await sendFiles({ host: '127.0.0.1', port: scp.port, calledAe: 'PACS', callingAe: 'RSO_HUB' }, [
    missing,
    files[0]!,
    notDicom,
  ]);
  t.like(outcomes[0], { state: 'not-sent' });
  t.regex(outcomes[0]?.reason ?? '', /ENOENT/);
  t.like(outcomes[1], { state: 'success', status: 0 });
  t.like(outcomes[2], { state: 'not-sent' });
  t.regex(outcomes[2]?.reason ?? '', /not a DICOM Part-10 file/);
});

test('a peer that accepts but never answers times out; every file is reported as not sent', async (t) => {
  const files = await study();
  // A stand-in peer that accepts the association and then goes silent: a hung PACS cannot be produced with dcmtk
  // or Orthanc on demand.
  const server = createServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      const rq = decodeAssociateRq(chunk.subarray(6));
      socket.write(
        encodeAssociateAc(
          rq,
          rq.contexts.map((context) => ({ id: context.id, result: 0, transferSyntax: context.transferSyntaxes[0]! })),
          16384,
        ),
      );
      socket.resume();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const outcomes = await sendFiles({ host: '127.0.0.1', port, calledAe: 'SILENT', callingAe: 'RSO_HUB' }, files, {
    responseTimeoutMs: 300,
  });
  t.deepEqual(
    outcomes.map((outcome) => outcome.state),
    ['not-sent', 'not-sent', 'not-sent'],
  );
  t.regex(outcomes[0]?.reason ?? '', /no C-STORE-RSP within 300 ms/);
  // The next file was opened while the first awaited its answer; the failed association closed it.
  t.deepEqual(
    (await openPaths()).filter((target) => files.includes(target)),
    [],
  );
});

test('a deflated instance whose bit stream is corrupt gets 0xC000 and is not stored', async (t) => {
  const files = await study();
  const deflated = path.join(path.dirname(files[0]!), 'knee-deflated.dcm');
  const converted = await runTool('dcmconv', ['--write-xfer-deflated', files[0]!, deflated]);
  t.is(converted.code, 0, converted.stderr);
  const bytes = await readFile(deflated);
  const start = parseFileMeta(bytes, deflated).datasetOffset;
  bytes.fill(0xff, start + 4, start + 40);
  await writeFile(deflated, bytes);
  const storageDir = await tempDir('dicom-scp');
  const scp = new DicomScp({
    aeTitle: 'PACS',
    host: '127.0.0.1',
    port: 0,
    storageDir,
    isKnownCallingAe: () => true,
    onInstanceStored: async () => undefined,
  });
  await scp.start();
  t.teardown(() => scp.stop());

  const outcomes = await sendFiles({ host: '127.0.0.1', port: scp.port, calledAe: 'PACS', callingAe: 'RSO_HUB' }, [
    deflated,
    files[1]!,
  ]);
  t.like(outcomes[0], { state: 'failure', status: 0xc000 });
  t.like(outcomes[1], { state: 'success' });
  t.deepEqual((await readdir(storageDir)).filter((name) => name.endsWith('.dcm')).length, 1);
});

test('a peer that drops the connection mid-instance leaves that file and the rest not sent, and sendFiles returns', async (t) => {
  const files = await study();
  const large = files[2]!;
  // A stand-in peer that hangs up half-way through a data set: no real PACS crashes on cue.
  const server = createServer((socket) => {
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      if (received === 0) {
        const rq = decodeAssociateRq(chunk.subarray(6));
        socket.write(
          encodeAssociateAc(
            rq,
            rq.contexts.map((context) => ({ id: context.id, result: 0, transferSyntax: context.transferSyntaxes[0]! })),
            16384,
          ),
        );
      }
      received += chunk.length;
      if (received > 1_000_000) socket.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const outcomes = await sendFiles({ host: '127.0.0.1', port, calledAe: 'FLAKY', callingAe: 'RSO_HUB' }, [
    large,
    files[0]!,
  ]);
  t.deepEqual(
    outcomes.map((outcome) => outcome.state),
    ['not-sent', 'not-sent'],
  );
  t.regex(outcomes[0]?.reason ?? '', /closed|reset|EPIPE/i);
});
