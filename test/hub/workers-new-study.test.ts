// The new-study race (issue 18): with two hub processes (hub.workers: 2) on one store, the first instances of one
// new study arrive on several associations at the same moment, so both processes find no exam for it and try to
// make one. One exam must result per study. Real dcmtk storescu, one association per instance, all at once; the
// kernel spreads them over the two processes (SO_REUSEPORT). Both processes deploy an exam-events channel; its
// reader runs in one process at a time (a lease), so each exam.created event becomes exactly one file.
import { readdir } from 'node:fs/promises';
import test from 'ava';
import { createLogger } from '../../runtime/log.ts';
import { openStore } from '../../store/open.ts';
import { until } from '../support/channels.ts';
import { startHub, stopHub, tempDir, waitHealthy } from '../support/hub-process.ts';
import { answeringPids, workersConfig } from '../support/workers.ts';
import { dicomTestConfig, storescu, valleyFacility, writeStudy } from './dicom-support.ts';

const STUDIES = 4;

function createdEventsToFiles(directory: string) {
  return {
    id: 'created-to-files',
    name: 'exam.created to files',
    enabled: true,
    source: { type: 'exam-events', settings: { types: ['exam.created'], pollMs: 50 } },
    destinations: [
      {
        name: 'files',
        connector: { type: 'file', settings: { directory, fileName: '{messageId}.json', sync: false } },
      },
    ],
  };
}
const ASSOCIATIONS = 8;

test('two workers receiving the first instances of one new study at once make one exam for it', async (t) => {
  const outbox = await tempDir('exam-events-out');
  const hub = await startHub({
    config: workersConfig(2, 5, dicomTestConfig),
    facilities: [await valleyFacility()],
    channels: [createdEventsToFiles(outbox)],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  await answeringPids(hub, 2);

  const uids: string[] = [];
  for (let s = 0; s < STUDIES; s++) {
    // A patient nobody ordered for: no match, so each process that looks makes a new exam unless it sees the other's.
    const study = await writeStudy(ASSOCIATIONS, { patientId: `NEW-STUDY-RACE-${s}`, accessionNumber: '' });
    uids.push(study.studyInstanceUid);
    const results = await Promise.all(study.files.map((file) => storescu(hub, 'VALLEY_CT', [file])));
    for (const result of results) t.regex(`${result.stdout}${result.stderr}`, /Received Store Response \(Success\)/);
  }
  const matchedBy = new Map<string, Set<number>>();
  for (const line of hub.stdout().split('\n')) {
    if (!line.includes('"msg":"study matched"')) continue;
    const entry = JSON.parse(line) as { studyInstanceUid: string; worker: number };
    const workers = matchedBy.get(entry.studyInstanceUid) ?? new Set<number>();
    workers.add(entry.worker);
    matchedBy.set(entry.studyInstanceUid, workers);
  }
  await until(async () => (await readdir(outbox)).length >= STUDIES, 60_000, 'an exam.created file per study');
  const raced = uids.filter((uid) => (matchedBy.get(uid)?.size ?? 0) > 1).length;
  t.log(`${raced} of ${STUDIES} studies were matched by both workers`);
  t.is(await stopHub(hub), 0);
  t.is((await readdir(outbox)).length, STUDIES, 'each event taken by one reader, once');

  const store = await openStore({ dataDir: hub.dataDir, log: { ...createLogger(), info: () => undefined } });
  t.teardown(() => store.close());
  for (const uid of uids) {
    const exams = await store.db
      .collection<{ examNumber: string }>('exams')
      .find({ 'studies.studyInstanceUid': uid })
      .toArray();
    t.is(exams.length, 1, `one exam for study ${uid}`);
  }
  const made = await store.db.collection('exams').countDocuments({ 'procedure.code': { $exists: true } });
  t.is(made, STUDIES, 'no exam without its study either');
});
