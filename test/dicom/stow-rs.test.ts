// HTTP upload (STOW-RS, PS3.18 10.5) to the real hub process: what an uploading client sees for good and bad
// input (status, ReferencedSOPSequence / FailedSOPSequence with FailureReason, Warning text), and that nothing
// of a refused file is stored.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Bundle, ImagingStudy } from '@medplum/fhirtypes';
import { api, repoRoot, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { dicomTestConfig, fhir, imagingStudy, valleyFacility } from '../hub/dicom-support.ts';
import { buildPart10, spec, uid } from './make-instance.ts';

let hub: HubProcess;

test.before(async () => {
  const valley = await valleyFacility();
  // A second facility, to prove one facility cannot add to (or overwrite part of) another's study.
  const hillside = {
    ...valley,
    code: 'HILLSIDE',
    name: 'Hillside Clinic',
    aeTitles: ['HILL_CT'],
    sendingFacilities: ['HILLSIDE'],
  };
  hub = await startHub({ config: dicomTestConfig, facilities: [valley, hillside] });
  await waitHealthy(hub);
});

test.after.always(async () => {
  if (hub) await stopHub(hub, 'SIGKILL');
});

const boundary = 'rso-test-boundary-7d1c';
const multipartType = `multipart/related; type="application/dicom"; boundary=${boundary}`;

function multipart(parts: Array<{ bytes: Buffer; type?: string }>, close = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Type: ${part.type ?? 'application/dicom'}\r\n\r\n`, 'latin1'),
      part.bytes,
      Buffer.from('\r\n', 'latin1'),
    );
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return Buffer.concat(chunks);
}

function upload(body: Buffer, contentType: string, query = '?facility=VALLEYGEN'): Promise<Response> {
  return api(hub, `/dicomweb/studies${query}`, { method: 'POST', body, headers: { 'content-type': contentType } });
}

type DicomJson = Record<string, { vr: string; Value?: Array<Record<string, { vr: string; Value?: unknown[] }>> }>;

function failureReasons(body: DicomJson): unknown[] {
  return body['00081198']?.Value?.map((item) => item['00081197']?.Value?.[0]) ?? [];
}

function referenced(body: DicomJson): unknown[] {
  return body['00081199']?.Value?.map((item) => item['00081155']?.Value?.[0]) ?? [];
}

async function leftovers(): Promise<string[]> {
  return readdir(path.join(hub.dataDir, 'dicom', '.stow')).catch(() => []);
}

test.serial('a multipart/related upload of two instances is stored and becomes an ImagingStudy', async (t) => {
  const studyInstanceUid = uid();
  const a = spec({ studyInstanceUid, patientId: 'V999001', accessionNumber: 'ACC-S-1' });
  const b = spec({
    studyInstanceUid,
    seriesInstanceUid: a.seriesInstanceUid,
    patientId: 'V999001',
    accessionNumber: 'ACC-S-1',
  });
  const response = await upload(multipart([{ bytes: buildPart10(a) }, { bytes: buildPart10(b) }]), multipartType);
  t.is(response.status, 200);
  t.is(response.headers.get('content-type'), 'application/dicom+json');
  const body = (await response.json()) as DicomJson;
  t.deepEqual(referenced(body).sort(), [a.sopInstanceUid, b.sopInstanceUid].sort());
  t.deepEqual(failureReasons(body), []);
  const study = await imagingStudy(hub, studyInstanceUid);
  t.is(study?.numberOfInstances, 2);
  t.is(study?.series?.length, 1);
  t.regex(study?.basedOn?.[0]?.reference ?? '', /^ServiceRequest\/RSO-/);
  t.deepEqual(await leftovers(), []);
});

test.serial(
  'one good and one truncated instance: 202, the good one stored, the other failed with 0xC000',
  async (t) => {
    const studyInstanceUid = uid();
    const good = spec({ studyInstanceUid, patientId: 'V999002' });
    const bad = spec({ studyInstanceUid, patientId: 'V999002' });
    const whole = buildPart10(bad);
    const truncated = whole.subarray(0, whole.length - 1000);
    const response = await upload(multipart([{ bytes: buildPart10(good) }, { bytes: truncated }]), multipartType);
    t.is(response.status, 202);
    const body = (await response.json()) as DicomJson;
    t.deepEqual(referenced(body), [good.sopInstanceUid]);
    t.deepEqual(failureReasons(body), [0xc000]);
    t.is(body['00081198']?.Value?.[0]?.['00081155']?.Value?.[0], bad.sopInstanceUid);
    t.regex(response.headers.get('warning') ?? '', /^299 rso-hub "part 2: .*truncated/);
    const study = await imagingStudy(hub, studyInstanceUid);
    t.deepEqual(
      study?.series?.[0]?.instance?.map((i) => i.uid),
      [good.sopInstanceUid],
    );
    await t.throwsAsync(
      readFile(path.join(hub.dataDir, 'dicom', 'studies', studyInstanceUid, `${bad.sopInstanceUid}.dcm`)),
    );
  },
);

test.serial('a file that is not DICOM is refused with 409 and 0xC000; nothing is stored', async (t) => {
  const before = await fhir<Bundle<ImagingStudy>>(hub, 'ImagingStudy?_count=0');
  const text = await readFile(path.join(repoRoot, 'test', 'fixtures', 'dicom', 'not-dicom.txt'));
  const single = await upload(text, 'application/dicom');
  t.is(single.status, 409);
  t.deepEqual(failureReasons((await single.json()) as DicomJson), [0xc000]);
  t.regex(single.headers.get('warning') ?? '', /not a DICOM Part-10 file/);

  const truncated = buildPart10(spec({ patientId: 'V999003' })).subarray(0, 600);
  const short = await upload(truncated, 'application/dicom');
  t.is(short.status, 409);
  t.deepEqual(failureReasons((await short.json()) as DicomJson), [0xc000]);

  const after = await fhir<Bundle<ImagingStudy>>(hub, 'ImagingStudy?_count=0');
  t.is(after.total, before.total);
  t.deepEqual(await leftovers(), []);
});

test.serial(
  'wrong media types are 415, a broken multipart body 400, a staff token without a facility 400',
  async (t) => {
    const instance = buildPart10(spec({ patientId: 'V999004' }));
    t.is((await upload(instance, 'application/json')).status, 415);
    t.is(
      (
        await upload(
          multipart([{ bytes: instance }]),
          `multipart/related; type="application/dicom+json"; boundary=${boundary}`,
        )
      ).status,
      415,
    );
    const unclosed = await upload(multipart([{ bytes: instance }], false), multipartType);
    t.is(unclosed.status, 400);
    t.is(unclosed.headers.get('content-type'), 'application/problem+json');
    t.regex(((await unclosed.json()) as { detail: string }).detail, /closing boundary/);
    t.is((await upload(instance, 'application/dicom', '')).status, 400);
    const noAuth = await fetch(hub.url('/dicomweb/studies?facility=VALLEYGEN'), {
      method: 'POST',
      body: instance,
      headers: { 'content-type': 'application/dicom' },
    });
    t.is(noAuth.status, 401);
    t.deepEqual(await leftovers(), []);
  },
);

test.serial("an upload naming another facility's study or instance is refused and changes nothing", async (t) => {
  const studyInstanceUid = uid();
  const original = spec({ studyInstanceUid, patientId: 'V999077', accessionNumber: 'ACC-S-77' });
  t.is((await upload(buildPart10(original), 'application/dicom')).status, 200);

  const intruder = spec({ studyInstanceUid, patientId: 'H-1', accessionNumber: 'H-ACC-1' });
  const sameStudy = await upload(buildPart10(intruder), 'application/dicom', '?facility=HILLSIDE');
  t.is(sameStudy.status, 409);
  const sameInstance = await upload(
    buildPart10({ ...original, patientId: 'H-2' }),
    'application/dicom',
    '?facility=HILLSIDE',
  );
  t.is(sameInstance.status, 409);

  const study = await imagingStudy(hub, studyInstanceUid);
  t.is(study?.numberOfInstances, 1, 'the study still holds only its own instance');
});

test.serial(
  'a study whose instances lack Modality (as secondary captures may) is read and found as an ImagingStudy',
  async (t) => {
    const studyInstanceUid = uid();
    const capture = spec({ studyInstanceUid, patientId: 'V999088', accessionNumber: 'ACC-S-88', omit: ['Modality'] });
    t.is((await upload(buildPart10(capture), 'application/dicom')).status, 200);
    const study = await imagingStudy(hub, studyInstanceUid);
    t.is(study?.numberOfInstances, 1);
    t.is(study?.modality, undefined);
    t.is(study?.series?.[0]?.modality?.code, 'OT');
    const page = await fhir<Bundle<ImagingStudy>>(hub, `ImagingStudy?identifier=ACC-S-88`);
    t.deepEqual(
      page.entry?.map((e) => e.resource?.id),
      [studyInstanceUid],
    );
    const everything = await fhir<Bundle<ImagingStudy>>(hub, 'ImagingStudy?_count=100');
    t.true(everything.entry?.some((e) => e.resource?.id === studyInstanceUid));
  },
);
