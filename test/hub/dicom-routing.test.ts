// Complete studies routed from the real hub process to the facility's radiologist PACS: Orthanc (a real PACS,
// read through its REST API) on loopback with its own temp config and storage, started by the test. What the
// RSO needs: the whole study arrives after the quiet time, a PACS that is down only delays it, a hub killed
// mid-study loses nothing it acknowledged, and a PACS that refuses some instances gets only those again.
import { readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { DicomScp } from '../../dicom/scp.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { until } from '../support/channels.ts';
import { freePort, startHub, stopHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { missingBinaries, startOrthanc } from '../dicom/peers.ts';
import {
  acknowledged,
  dicomTestConfig,
  hubAe,
  imagingStudy,
  orthancInstances,
  pacsDeliveries,
  refusingPacs,
  storescu,
  studiesToPacsChannel,
  valleyFacility,
  writeStudy,
} from './dicom-support.ts';

setLogLevel('error');

test.before('dcmtk and Orthanc are installed (CI: apt-get install -y dcmtk orthanc)', () => {
  const missing = missingBinaries(['storescu', 'Orthanc']);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y dcmtk orthanc`);
});

async function hubFor(pacs: { aeTitle: string; port: number }, dataDir?: string): Promise<HubProcess> {
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [
      await valleyFacility({ radiologistPacs: { aeTitle: pacs.aeTitle, host: '127.0.0.1', port: pacs.port } }),
    ],
    channels: [studiesToPacsChannel()],
    ...(dataDir === undefined ? {} : { dataDir }),
  });
  await waitHealthy(hub);
  return hub;
}

test('after the quiet time the whole study reaches the radiologist PACS, filed under the exam number', async (t) => {
  const orthanc = await startOrthanc(await tempDir('orthanc'), hubAe, { aeTitle: 'RSO_PACS' });
  t.teardown(() => orthanc.stop());
  const hub = await hubFor({ aeTitle: 'RSO_PACS', port: orthanc.port });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));

  const study = await writeStudy(6, { patientId: 'V888001', patientName: 'PACS^PETRA', accessionNumber: 'ACC-R-1' });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  await until(
    async () => (await orthancInstances(orthanc, study.studyInstanceUid)).uids.length === 6,
    30_000,
    'six instances at Orthanc',
  );

  const arrived = await orthancInstances(orthanc, study.studyInstanceUid);
  t.deepEqual([...arrived.uids].sort(), [...study.sopInstanceUids].sort());
  const examNumber = (await imagingStudy(hub, study.studyInstanceUid))?.basedOn?.[0]?.reference?.replace(
    'ServiceRequest/',
    '',
  );
  t.deepEqual(arrived.patientIds, [examNumber], 'coercion: PatientID carries the exam number at the PACS');
  await until(async () => (await pacsDeliveries(hub)).some((d) => d.state === 'sent'), 10_000, 'the delivery recorded');
  const [delivery] = await pacsDeliveries(hub);
  t.is(delivery?.response, '6/6 instances stored at RSO_PACS');
  // The stored original keeps the facility's PatientID: coercion works on copies only.
  t.is((await imagingStudy(hub, study.studyInstanceUid))?.status, 'available');
});

test('with the PACS down the study waits in the queue and is delivered once the PACS is back', async (t) => {
  const port = await freePort();
  const hub = await hubFor({ aeTitle: 'RSO_PACS', port });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));

  const study = await writeStudy(3, { patientId: 'V888002', accessionNumber: 'ACC-R-2' });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  await until(
    async () => (await pacsDeliveries(hub)).some((d) => d.attempts >= 2),
    30_000,
    'failed attempts while the PACS is down',
  );
  const waiting = (await pacsDeliveries(hub))[0];
  t.is(waiting?.state, 'queued');
  t.regex(waiting?.lastError ?? '', /0\/3 instances stored at RSO_PACS; 0 refused, 3 not sent/);

  const orthanc = await startOrthanc(await tempDir('orthanc'), hubAe, { aeTitle: 'RSO_PACS', port });
  t.teardown(() => orthanc.stop());
  await until(
    async () => (await orthancInstances(orthanc, study.studyInstanceUid)).uids.length === 3,
    30_000,
    'the study at the PACS',
  );
  await until(async () => (await pacsDeliveries(hub))[0]?.state === 'sent', 10_000, 'the delivery sent');
  t.is((await pacsDeliveries(hub))[0]?.response, '3/3 instances stored at RSO_PACS');
});

test('an instance whose file is short (never acknowledged) stays out of the routing; the rest reach the PACS, its resend follows', async (t) => {
  const port = await freePort();
  const dataDir = await tempDir('hub-short');
  const hub = await hubFor({ aeTitle: 'RSO_PACS', port }, dataDir);
  t.teardown(() => void stopHub(hub, 'SIGKILL'));

  const study = await writeStudy(3, { patientId: 'V888006', accessionNumber: 'ACC-R-6', pixelBytes: 64 * 1024 });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  await until(async () => (await pacsDeliveries(hub)).some((d) => d.attempts >= 1), 30_000, 'an attempt, PACS down');
  // What a hub killed between the record and the file's data leaves (dicom/whole-instance.ts): a short file.
  // Orthanc, sent such a file, waits for the rest of the data set and never answers, which held up the whole study.
  const shortUid = study.sopInstanceUids[1]!;
  const folder = path.join(dataDir, 'dicom', 'studies', study.studyInstanceUid);
  const shortFile = (await readdir(folder, { recursive: true }))
    .map((name) => path.join(folder, String(name)))
    .find((file) => file.includes(shortUid));
  t.truthy(shortFile, 'the instance file is in the study folder');
  await truncate(shortFile!, Math.floor((await stat(shortFile!)).size / 2));

  const orthanc = await startOrthanc(await tempDir('orthanc'), hubAe, { aeTitle: 'RSO_PACS', port });
  t.teardown(() => orthanc.stop());
  await until(async () => (await pacsDeliveries(hub))[0]?.state === 'sent', 30_000, 'the delivery sent');
  const sent = (await pacsDeliveries(hub))[0];
  t.regex(sent?.response ?? '', /^2\/2 instances stored at RSO_PACS; 1 incomplete instance\(s\) left out/);
  t.true(sent?.response?.includes(shortUid));
  t.deepEqual(
    [...(await orthancInstances(orthanc, study.studyInstanceUid)).uids].sort(),
    [study.sopInstanceUids[0]!, study.sopInstanceUids[2]!].sort(),
  );

  // The sender was never told the instance was stored, so it sends it again: the study re-opens and routes it.
  t.is((await storescu(hub, 'VALLEY_CT', [study.files[1]!])).code, 0);
  await until(
    async () => (await orthancInstances(orthanc, study.studyInstanceUid)).uids.length === 3,
    30_000,
    'the resent instance at the PACS',
  );
});

test('a hub killed mid-study loses no instance it acknowledged: all of them reach the PACS after restart', async (t) => {
  const orthanc = await startOrthanc(await tempDir('orthanc'), hubAe, { aeTitle: 'RSO_PACS' });
  t.teardown(() => orthanc.stop());
  const dataDir = await tempDir('hub-kill');
  const hub = await hubFor({ aeTitle: 'RSO_PACS', port: orthanc.port }, dataDir);
  t.teardown(() => void stopHub(hub, 'SIGKILL'));

  const study = await writeStudy(40, { patientId: 'V888003', accessionNumber: 'ACC-R-3', pixelBytes: 1024 * 1024 });
  const studyDir = path.join(dataDir, 'dicom', 'studies', study.studyInstanceUid);
  const sending = storescu(hub, 'VALLEY_CT', study.files);
  // storescu sends one instance at a time, after the answer to the one before: once the 6th file is in the
  // study folder, storescu has had the answers to the first 5.
  await until(async () => (await readdir(studyDir).catch(() => [])).length >= 6, 30_000, 'the first instances stored');
  hub.child.kill('SIGKILL');
  await hub.exited;
  const result = await sending;
  const acked = acknowledged(result, study);
  t.true(acked.length >= 5, `storescu saw ${acked.length} successes`);

  // The restarted hub takes the event publisher's lease from the killed process at once (exams/outbox.ts
  // isAbandonedOwner); without that the study-complete event would wait 30 s for the lease to expire.
  const restarted = await hubFor({ aeTitle: 'RSO_PACS', port: orthanc.port }, dataDir);
  t.teardown(() => void stopHub(restarted, 'SIGKILL'));
  await until(
    async () => {
      const at = new Set((await orthancInstances(orthanc, study.studyInstanceUid)).uids);
      return acked.every((uid) => at.has(uid));
    },
    30_000,
    'every acknowledged instance at the PACS',
  );
  const indexed =
    (await imagingStudy(restarted, study.studyInstanceUid))?.series?.flatMap(
      (s) => s.instance?.map((i) => i.uid) ?? [],
    ) ?? [];
  t.true(
    acked.every((uid) => indexed.includes(uid)),
    'every acknowledged instance is in the index',
  );

  // The modality sends the rest again; the study completes again and only the missing instances go out.
  const rest = study.files.filter((_, i) => !acked.includes(study.sopInstanceUids[i]!));
  if (rest.length > 0) t.is((await storescu(restarted, 'VALLEY_CT', rest)).code, 0);
  await until(
    async () => (await orthancInstances(orthanc, study.studyInstanceUid)).uids.length === 40,
    30_000,
    'the whole study at the PACS',
  );
});

test('a PACS that refuses some instances gets only those again, and the message tells which', async (t) => {
  const refuseOnce = new Set<string>();
  const { pacs, received } = await refusingPacs(t, 'FLAKY_PACS', (uid) => refuseOnce.delete(uid));
  const hub = await hubFor({ aeTitle: 'FLAKY_PACS', port: pacs.port });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));

  const study = await writeStudy(4, { patientId: 'V888004', accessionNumber: 'ACC-R-4' });
  refuseOnce.add(study.sopInstanceUids[1]!);
  refuseOnce.add(study.sopInstanceUids[3]!);
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);

  await until(
    async () => (await pacsDeliveries(hub))[0]?.state === 'sent',
    30_000,
    'the study delivered after the retry',
  );
  const delivery = (await pacsDeliveries(hub))[0];
  t.is(delivery?.response, '4/4 instances stored at FLAKY_PACS');
  t.true((delivery?.attempts ?? 0) >= 2);
  // First attempt: all four; second: only the two refused ones.
  t.deepEqual(
    [...received].sort(),
    [...study.sopInstanceUids, study.sopInstanceUids[1]!, study.sopInstanceUids[3]!].sort(),
  );
});

test('a partial failure is recorded truthfully per instance while it waits for the retry', async (t) => {
  const refused = new Set<string>();
  const { pacs } = await refusingPacs(t, 'HALF_PACS', (uid) => refused.has(uid));
  const hub = await hubFor({ aeTitle: 'HALF_PACS', port: pacs.port });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));

  const study = await writeStudy(3, { patientId: 'V888005', accessionNumber: 'ACC-R-5' });
  refused.add(study.sopInstanceUids[0]!);
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  await until(
    async () =>
      ((await pacsDeliveries(hub))[0]?.attempts ?? 0) >= 1 && (await pacsDeliveries(hub))[0]?.lastError !== undefined,
    30_000,
    'a failed attempt',
  );
  const delivery = (await pacsDeliveries(hub))[0];
  t.is(delivery?.state, 'queued');
  t.regex(
    delivery?.lastError ?? '',
    new RegExp(
      `^2/3 instances stored at HALF_PACS; 1 refused, 0 not sent: ${study.sopInstanceUids[0]!.replaceAll('.', '\\.')}: failure 0xa700`,
    ),
  );
});

test('with associations: 3 a study goes over three parallel associations, and each instance outcome stays its own', async (t) => {
  const refused = new Set<string>();
  let mostAtOnce = 0;
  const received: string[] = [];
  const pacs: DicomScp = new DicomScp({
    aeTitle: 'WIDE_PACS',
    host: '127.0.0.1',
    port: 0,
    storageDir: await tempDir('wide-pacs'),
    syncStorage: false,
    isKnownCallingAe: () => true,
    onInstanceStored: async (instance) => {
      mostAtOnce = Math.max(mostAtOnce, pacs.associations);
      received.push(instance.sopInstanceUid);
      // Slow enough that the three associations are open together.
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (refused.delete(instance.sopInstanceUid)) throw new Error('refused once for the test');
    },
  });
  await pacs.start();
  t.teardown(() => pacs.stop());
  const channel = studiesToPacsChannel();
  const connector = channel.destinations[0]!.connector as { settings: Record<string, unknown> };
  connector.settings['associations'] = 3;
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [
      await valleyFacility({ radiologistPacs: { aeTitle: 'WIDE_PACS', host: '127.0.0.1', port: pacs.port } }),
    ],
    channels: [channel],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);

  const study = await writeStudy(7, { patientId: 'V888007', accessionNumber: 'ACC-R-7' });
  refused.add(study.sopInstanceUids[5]!);
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  await until(async () => (await pacsDeliveries(hub))[0]?.state === 'sent', 30_000, 'the study delivered');
  t.is((await pacsDeliveries(hub))[0]?.response, '7/7 instances stored at WIDE_PACS');
  t.is(mostAtOnce, 3);
  // Every instance once, and the refused one again on the retry: nothing sent twice that was stored.
  t.deepEqual([...received].sort(), [...study.sopInstanceUids, study.sopInstanceUids[5]!].sort());
});
