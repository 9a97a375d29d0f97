// 100 modalities' associations at once against the real hub process, all naming one order (one accession, one
// patient): each instance is stored, or its association is rejected-transient past dicom.limits.maxAssociations;
// never a failure status (0xA700) for a good instance. The studies all match one exam, whose optimistic write
// once gave up under that contention.
import test from 'ava';
import { startHub, stopHub, waitHealthy } from '../support/hub-process.ts';
import { dicomTestConfig, storescu, valleyFacility, writeStudy } from './dicom-support.ts';

test('100 parallel associations naming one order: every instance stored or its association rejected, never 0xA700', async (t) => {
  const hub = await startHub({ config: dicomTestConfig, facilities: [await valleyFacility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const studies = [];
  for (let i = 0; i < 100; i++)
    studies.push(await writeStudy(1, { accessionNumber: 'ACC-PARALLEL', patientId: 'PAT-PARALLEL' }));
  const results = await Promise.all(studies.map((study) => storescu(hub, 'VALLEY_CT', study.files)));
  let stored = 0;
  let rejected = 0;
  for (const result of results) {
    const said = `${result.stdout}${result.stderr}`;
    t.notRegex(said, /Received Store Response \((?!Success)/, 'no failure status for a good instance');
    if (/Received Store Response \(Success\)/.test(said)) stored++;
    else if (/Association Rejected[\s\S]*Rejected Transient/.test(said)) rejected++;
  }
  t.is(stored + rejected, 100);
  t.true(stored >= 50, `${stored} stored`);
  t.is(await stopHub(hub), 0);
});
