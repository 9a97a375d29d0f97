// A SOP Instance UID sent twice (a modality resending a study) is indexed once; config.dicom.duplicateInstances
// decides whether the stored file is the first copy ('ignore') or the latest ('replace'). A WADO-RS retrieve
// after the second copy gives what is on disk, though the first was retrieved (and cached) before it came.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { boundaryOf, readMultipart } from '../../dicom/multipart-related.ts';
import { until } from '../support/channels.ts';
import { api, type HubProcess, startHub, stopHub, tempDir, waitHealthy } from '../support/hub-process.ts';
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
    await until(async () => (await imagingStudy(hub, instance.studyInstanceUid)) !== undefined, 15_000, 'the study');
    // Read twice, so the hub keeps the first copy in its retrieve cache.
    for (let read = 0; read < 2; read++)
      t.true(datasetOf(await retrieved(hub, instance), 'retrieved').equals(datasetOf(firstBytes, 'first')));
    t.is((await storescu(hub, 'VALLEY_CT', [second])).code, 0);
    t.is((await imagingStudy(hub, instance.studyInstanceUid))?.numberOfInstances, 1);
    const kept = await readFile(
      path.join(hub.dataDir, 'dicom', 'studies', instance.studyInstanceUid, `${instance.sopInstanceUid}.dcm`),
    );
    const expected = mode === 'ignore' ? firstBytes : secondBytes;
    t.true(datasetOf(kept, 'kept').equals(datasetOf(expected, 'expected')));
    t.true((await retrieved(hub, instance)).equals(kept), 'WADO-RS gives the copy on disk');
  });
}

/** The instance as WADO-RS answers it: the one part of the multipart answer. */
async function retrieved(
  hub: HubProcess,
  instance: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string },
): Promise<Buffer> {
  const response = await api(
    hub,
    `/dicomweb/studies/${instance.studyInstanceUid}/series/${instance.seriesInstanceUid}/instances/${instance.sopInstanceUid}`,
  );
  const contentType = response.headers.get('content-type') ?? '';
  const dir = await tempDir('dicom-duplicate-wado');
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  const [part] = await readMultipart(body, boundaryOf(contentType)!, dir);
  return readFile(part!.filePath);
}
