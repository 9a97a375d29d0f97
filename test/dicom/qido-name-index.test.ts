// PatientName prefix searches read the study index through its upper-case name key: the embedded engine's plan is
// a range on that index, not a scan; studies stored before the key existed get it when the index opens; results
// ignore case as before (PS3.4 C.2.2.2.1.1 leaves case to the SCP).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseQidoQuery, storeFilter } from '../../dicom/qido-query.ts';
import { StudyIndex } from '../../dicom/study-index.ts';
import type { EmbeddedCollection } from '../../store/embedded/collection.ts';
import { openStore } from '../../store/open.ts';
import { quietLog } from '../exams/setup.ts';

const names = ['Müller^Anna', 'MUELLER^HANS', 'mülheim^otto', 'SMITH^JOHN', 'smithers^wayne', 'Doe^Jane'];

async function touch(index: StudyIndex, uid: string, patientName: string): Promise<void> {
  await index.touchStudy({
    studyInstanceUid: uid,
    facility: 'VALLEYGEN',
    seriesInstanceUid: `${uid}.1`,
    added: true,
    receivedAt: new Date().toISOString(),
    quietMs: 60_000,
    header: { patientName },
    source: 'test',
  });
}

test('a PatientName prefix wildcard is a range on the name index, ignores case and finds studies indexed before the key', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-qido-name-'));
  const store = await openStore({ dataDir: dir, log: quietLog });
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const index = new StudyIndex(store.db);
  for (const [i, name] of names.entries()) await touch(index, `1.2.3.${i}`, name);
  // As a hub before the key existed stored it: the name only.
  await index.studies.insertOne({
    _id: '1.2.3.99',
    facility: 'VALLEYGEN',
    patientName: 'Mülhaupt^Eva',
    instanceCount: 1,
    seriesUids: [],
    modalities: [],
    firstReceivedAt: '2026-01-01T00:00:00Z',
    lastReceivedAt: '2026-01-01T00:00:00Z',
    completeDueAt: 0,
    complete: true,
    completionScheduled: false,
  });
  await index.ensureIndexes();

  const search = async (pattern: string) => {
    const filter = storeFilter(parseQidoQuery(new URLSearchParams({ PatientName: pattern }), 'study').conditions);
    const found = await index.studies.find(filter as never).toArray();
    return { filter, found: found.map((s) => s.patientName).sort() };
  };
  const mul = await search('mül*');
  t.deepEqual(mul.found, ['Mülhaupt^Eva', 'Müller^Anna', 'mülheim^otto']);
  t.deepEqual((await search('SMITH*')).found, ['SMITH^JOHN', 'smithers^wayne']);
  t.deepEqual((await search('smith^j?hn')).found, ['SMITH^JOHN']);
  t.deepEqual((await search('*^anna')).found, ['Müller^Anna'], 'a leading wildcard still matches, without a range');

  const explained = (index.studies as unknown as EmbeddedCollection<Record<string, unknown>>).explain(
    mul.filter as never,
  );
  t.is(explained.plan, 'range');
  t.true(
    explained.queryPlan.some((line) => line.includes('patientNameKey_1')),
    explained.queryPlan.join(' / '),
  );
});
