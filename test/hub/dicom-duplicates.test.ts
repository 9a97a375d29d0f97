// A SOP Instance UID sent twice (a modality resending a study) is indexed once; config.dicom.duplicateInstances
// decides whether the stored file is the first copy ('ignore') or the latest ('replace').
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { until } from '../support/channels.ts';
import { startHub, stopHub, tempDir, waitHealthy } from '../support/hub-process.ts';
import { datasetOf, spec, writeInstance } from '../dicom/make-instance.ts';
import { dicomTestConfig, imagingStudy, storescu, valleyFacility } from './dicom-support.ts';

for (const mode of ['ignore', 'replace'] as const) {
  test(`duplicateInstances ${mode}: one index entry, the ${mode === 'ignore' ? 'first' : 'second'} copy on disk`, async (t) => {
    const hub = await startHub({
      config: `${dicomTestConfig}  duplicateInstances: ${mode}\n`,
      facilities: [await valleyFacility()],
    });
    t.teardown(() => void stopHub(hub, 'SIGKILL'));
    await waitHealthy(hub);
    const dir = await tempDir('dicom-duplicate');
    const instance = spec({ patientId: `V55500${mode === 'ignore' ? 1 : 2}` });
    const first = path.join(dir, 'first.dcm');
    const second = path.join(dir, 'second.dcm');
    const firstBytes = await writeInstance(first, instance);
    const secondBytes = await writeInstance(second, instance);
    t.false(
      datasetOf(firstBytes, 'first').equals(datasetOf(secondBytes, 'second')),
      'the two copies differ in pixel data',
    );

    t.is((await storescu(hub, 'VALLEY_CT', [first])).code, 0);
    t.is((await storescu(hub, 'VALLEY_CT', [second])).code, 0);
    await until(async () => (await imagingStudy(hub, instance.studyInstanceUid)) !== undefined, 15_000, 'the study');
    t.is((await imagingStudy(hub, instance.studyInstanceUid))?.numberOfInstances, 1);
    const kept = await readFile(
      path.join(hub.dataDir, 'dicom', 'studies', instance.studyInstanceUid, `${instance.sopInstanceUid}.dcm`),
    );
    const expected = mode === 'ignore' ? firstBytes : secondBytes;
    t.true(datasetOf(kept, 'kept').equals(datasetOf(expected, 'expected')));
  });
}
