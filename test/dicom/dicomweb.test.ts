// DICOMweb for viewers through the real hub: studies sent by dcmtk's storescu, then searched, retrieved and
// rendered with dicomweb-client, the client OHIF uses. A facility's token sees only its own studies.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import test from 'ava';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { dicomTestConfig, storescu, valleyFacility, writeStudy, type TestStudy } from '../hub/dicom-support.ts';
import { adminToken, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { type DicomJson, viewerClient } from './dicomweb-client.ts';
import { datasetOf } from './make-instance.ts';
import { missingBinaries } from './peers.ts';

const viewerToken = 'valley-viewer-token';
const config = dicomTestConfig.replace(
  'auth:\n  tokens:\n',
  `auth:\n  tokens:\n    - name: valley-viewer\n      sha256: ${createHash('sha256').update(viewerToken).digest('hex')}\n` +
    '      roles: [customer]\n      facilities: [VALLEYGEN]\n',
);

interface Fixture {
  hub: HubProcess;
  anna: TestStudy;
  john: TestStudy;
  jpegStudy: TestStudy;
  hillside: TestStudy;
}

let fixture: Fixture | undefined;
let started: HubProcess | undefined;
const missing = missingBinaries(['storescu']);
const dcmtkTest = missing.length === 0 ? test : test.skip;

test.before(async () => {
  if (missing.length > 0) return;
  const hillside = await valleyFacility({
    code: 'HILLSIDE',
    name: 'Hillside Clinic',
    aeTitles: ['HILL_CT'],
    sendingFacilities: ['HILLSIDE'],
  });
  const hub = await startHub({ config, facilities: [await valleyFacility(), hillside] });
  started = hub;
  await waitHealthy(hub);
  const anna = await writeStudy(3, {
    patientId: 'WEB-0001',
    patientName: 'Müller^Anna',
    accessionNumber: 'ACC-WEB-1',
    studyDate: '20240517',
    patientBirthDate: '19800203',
    patientSex: 'F',
    studyDescription: 'CT HEAD',
  });
  const john = await writeStudy(2, {
    patientId: 'WEB-0002',
    patientName: 'Smith^John',
    accessionNumber: 'ACC-WEB-2',
    studyDate: '20240320',
    modality: 'MR',
  });
  const jpegStudy = await writeStudy(1, {
    patientId: 'WEB-0003',
    patientName: 'Jones^Pat',
    accessionNumber: 'ACC-WEB-3',
    encapsulated: true,
  });
  const other = await writeStudy(1, { patientId: 'WEB-0009', patientName: 'Müller^Otto', accessionNumber: 'ACC-HILL' });
  for (const [ae, study, extra] of [
    ['VALLEY_CT', anna, []],
    ['VALLEY_MR', john, []],
    // -xy: propose JPEG baseline, so storescu sends the encapsulated instance as it is.
    ['VALLEY_CT', jpegStudy, ['-xy']],
    ['HILL_CT', other, []],
  ] as const) {
    const sent = await storescu(hub, ae, study.files, [...extra]);
    if (sent.code !== 0) throw new Error(`storescu failed: ${sent.stderr}`);
  }
  fixture = { hub, anna, john, jpegStudy, hillside: other };
});

test.after.always(async () => {
  if (started) await stopHub(started);
});

function hub(): Fixture {
  if (!fixture) throw new Error('the hub did not start');
  return fixture;
}

const admin = () => viewerClient(hub().hub.url('/dicomweb'), adminToken);
const valley = () => viewerClient(hub().hub.url('/dicomweb'), viewerToken);
const text = (dataset: DicomJson | undefined, tag: string): unknown => dataset?.[tag]?.Value?.[0];
const studyUids = (results: DicomJson[]): string[] => results.map((r) => String(text(r, '0020000D'))).sort();

dcmtkTest('a viewer finds studies by patient name with wildcards, dates, accession and modality', async (t) => {
  const { anna, john, hillside } = hub();
  const byName = await admin().searchForStudies({ queryParams: { PatientName: 'mül*' } });
  t.deepEqual(studyUids(byName), [anna.studyInstanceUid, hillside.studyInstanceUid].sort());
  const [study] = await admin().searchForStudies({ queryParams: { PatientID: 'WEB-0001' } });
  t.deepEqual(text(study, '00100010'), { Alphabetic: 'Müller^Anna' });
  t.is(text(study, '00100030'), '19800203');
  t.is(text(study, '00100040'), 'F');
  t.is(text(study, '00081030'), 'CT HEAD');
  t.is(text(study, '00080020'), '20240517');
  t.is(text(study, '00201208'), 3);
  t.is(text(study, '00201206'), 1);
  t.deepEqual(study?.['00080061']?.Value, ['CT']);

  const march = await admin().searchForStudies({ queryParams: { StudyDate: '20240301-20240331' } });
  t.deepEqual(studyUids(march), [john.studyInstanceUid]);
  const mr = await admin().searchForStudies({ queryParams: { ModalitiesInStudy: 'MR', includefield: 'all' } });
  t.deepEqual(studyUids(mr), [john.studyInstanceUid]);
  const accession = await admin().searchForStudies({ queryParams: { '00080050': 'ACC-WEB-2' } });
  t.deepEqual(studyUids(accession), [john.studyInstanceUid]);
  const byUid = await admin().searchForStudies({
    queryParams: { StudyInstanceUID: `${anna.studyInstanceUid},${john.studyInstanceUid}` },
  });
  t.deepEqual(studyUids(byUid), [anna.studyInstanceUid, john.studyInstanceUid].sort());

  const all = studyUids(await admin().searchForStudies({ queryParams: { PatientID: 'WEB-*' } }));
  t.is(all.length, 4);
  const first = await admin().searchForStudies({ queryParams: { PatientID: 'WEB-*', limit: 2 } });
  const rest = await admin().searchForStudies({ queryParams: { PatientID: 'WEB-*', limit: 10, offset: 2 } });
  t.is(first.length, 2);
  t.deepEqual([...studyUids(first), ...studyUids(rest)].sort(), all);
});

dcmtkTest('a facility token sees only its facility studies', async (t) => {
  const { hub: process, hillside } = hub();
  const found = await valley().searchForStudies({ queryParams: { PatientName: 'Müller*' } });
  t.notDeepEqual(studyUids(found), []);
  t.false(studyUids(found).includes(hillside.studyInstanceUid));
  const foreign = await fetch(process.url(`/dicomweb/studies/${hillside.studyInstanceUid}/metadata`), {
    headers: { authorization: `Bearer ${viewerToken}` },
  });
  t.is(foreign.status, 404);
  const anonymous = await fetch(process.url('/dicomweb/studies'));
  t.is(anonymous.status, 401);
});

dcmtkTest('series and instances of a study are searched and the whole study comes back as sent', async (t) => {
  const { anna } = hub();
  const series = await valley().searchForSeries({ studyInstanceUID: anna.studyInstanceUid });
  t.is(series.length, 1);
  t.is(text(series[0], '00201209'), 3);
  t.is(text(series[0], '00080060'), 'CT');
  const seriesUid = String(text(series[0], '0020000E'));
  const instances = await valley().searchForInstances({
    studyInstanceUID: anna.studyInstanceUid,
    seriesInstanceUID: seriesUid,
  });
  t.deepEqual(instances.map((i) => String(text(i, '00080018'))).sort(), [...anna.sopInstanceUids].sort());

  const retrieved = await valley().retrieveStudy({ studyInstanceUID: anna.studyInstanceUid });
  t.is(retrieved.length, 3);
  const sent = await Promise.all(anna.files.map(async (file) => datasetOf(await readFile(file), file)));
  const got = retrieved.map((bytes) => datasetOf(Buffer.from(bytes), 'retrieved'));
  for (const dataset of sent)
    t.true(
      got.some((g) => g.equals(dataset)),
      'a retrieved instance is byte-identical',
    );
  const oneSeries = await valley().retrieveSeries({
    studyInstanceUID: anna.studyInstanceUid,
    seriesInstanceUID: seriesUid,
  });
  t.is(oneSeries.length, 3);
});

dcmtkTest('metadata names the frames as bulk data and frames come back as stored', async (t) => {
  const { anna, jpegStudy, hub: process } = hub();
  const metadata = await valley().retrieveStudyMetadata({ studyInstanceUID: anna.studyInstanceUid });
  t.is(metadata.length, 3);
  const first = metadata[0]!;
  t.deepEqual(text(first, '00100010'), { Alphabetic: 'Müller^Anna' });
  t.regex(first['7FE00010']?.BulkDataURI ?? '', /\/frames\/1$/);
  // Absolute, under the root the client used: a viewer fetches it as it is. (The client sends no Origin header,
  // as a browser's same-origin GET does not.)
  t.true(
    (first['7FE00010']?.BulkDataURI ?? '').startsWith(`${process.url('/dicomweb')}/studies/${anna.studyInstanceUid}/`),
    first['7FE00010']?.BulkDataURI,
  );
  const uids = {
    studyInstanceUID: anna.studyInstanceUid,
    seriesInstanceUID: String(text(first, '0020000E')),
    sopInstanceUID: String(text(first, '00080018')),
  };
  const [frame] = await valley().retrieveInstanceFrames({ ...uids, frameNumbers: '1' });
  const file = anna.files[anna.sopInstanceUids.indexOf(uids.sopInstanceUID)]!;
  const bytes = await readFile(file);
  const rows = Number(text(first, '00280010'));
  const columns = Number(text(first, '00280011'));
  t.true(Buffer.from(frame!).equals(bytes.subarray(bytes.length - rows * columns * 2)), 'frame 1 is the pixel data');

  const [jpegMeta] = await valley().retrieveStudyMetadata({ studyInstanceUID: jpegStudy.studyInstanceUid });
  const jpegUrl = `/dicomweb/studies/${jpegStudy.studyInstanceUid}/series/${String(text(jpegMeta, '0020000E'))}/instances/${jpegStudy.sopInstanceUids[0]}/frames/1`;
  const raw = await fetch(process.url(jpegUrl), { headers: { authorization: `Bearer ${viewerToken}` } });
  t.is(raw.status, 200);
  t.regex(raw.headers.get('content-type') ?? '', /type="image\/jpeg"/);
  t.regex(await raw.text(), /Content-Type: image\/jpeg; transfer-syntax=1\.2\.840\.10008\.1\.2\.4\.50/);
  const beyond = await fetch(process.url(jpegUrl.replace(/frames\/1$/, 'frames/2')), {
    headers: { authorization: `Bearer ${viewerToken}` },
  });
  t.is(beyond.status, 404);
});

dcmtkTest('an instance renders as JPEG or PNG and a study has a thumbnail', async (t) => {
  const { anna, hub: process } = hub();
  const [first] = await valley().searchForInstances({ studyInstanceUID: anna.studyInstanceUid });
  const uids = {
    studyInstanceUID: anna.studyInstanceUid,
    seriesInstanceUID: String(text(first, '0020000E')),
    sopInstanceUID: String(text(first, '00080018')),
  };
  const [rendered] = await valley().retrieveInstanceRendered(uids);
  const image = jpeg.decode(Buffer.from(rendered!));
  // writeStudy's 8 KB of 16-bit pixels: 64 x 64.
  t.deepEqual([image.width, image.height], [64, 64]);
  const [png] = await valley().retrieveInstanceRendered({ ...uids, mediaTypes: [{ mediaType: 'image/png' }] });
  t.is(PNG.sync.read(Buffer.from(png!)).width, image.width);
  const thumbnail = await fetch(process.url(`/dicomweb/studies/${anna.studyInstanceUid}/thumbnail?viewport=32,32`), {
    headers: { authorization: `Bearer ${viewerToken}`, accept: 'image/jpeg' },
  });
  t.is(thumbnail.status, 200);
  const small = jpeg.decode(Buffer.from(await thumbnail.arrayBuffer()));
  t.deepEqual([small.width, small.height], [32, 32]);

  // A viewer's window (PS3.18 8.3.5.1.4): one of width 1 at 0 leaves random pixels black or white, nothing between.
  const instanceUrl = `/dicomweb/studies/${uids.studyInstanceUID}/series/${uids.seriesInstanceUID}/instances/${uids.sopInstanceUID}`;
  const grays = async (query: string) => {
    const response = await fetch(process.url(`${instanceUrl}/rendered?accept=image/png${query}`), {
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    t.is(response.status, 200);
    const { data } = PNG.sync.read(Buffer.from(await response.arrayBuffer()));
    return new Set(data.filter((_, index) => index % 4 === 0)).size;
  };
  t.true((await grays('')) > 2, 'the instance own window shows shades');
  t.true((await grays('&window=0,1,linear')) <= 2, 'a window of width 1 shows two values at most');
  for (const bad of ['window=40', 'window=40,0', 'window=40,400,sigmoid', 'window=a,b'])
    t.is(
      (
        await fetch(process.url(`${instanceUrl}/rendered?${bad}`), {
          headers: { authorization: `Bearer ${viewerToken}` },
        })
      ).status,
      400,
      bad,
    );
});

dcmtkTest('bad queries and unknown resources are answered with the reason', async (t) => {
  const { hub: process, anna } = hub();
  const get = (path: string) => fetch(process.url(path), { headers: { authorization: `Bearer ${adminToken}` } });
  const badDate = await get('/dicomweb/studies?StudyDate=2024-05-17');
  t.is(badDate.status, 400);
  t.regex(((await badDate.json()) as { detail: string }).detail, /StudyDate/);
  t.is((await get('/dicomweb/studies?Colour=blue')).status, 400);
  t.is((await get('/dicomweb/studies?limit=-1')).status, 400);
  t.is((await get('/dicomweb/studies/1.2.3.999/metadata')).status, 404);
  t.is((await get(`/dicomweb/studies/${anna.studyInstanceUid}/series/1.2.3/instances/4.5.6/frames/x`)).status, 400);
  t.is((await get(`/dicomweb/studies/${anna.studyInstanceUid}/series/1.2.3`)).status, 404);
});
