// Studies sent with dcmtk's storescu to the real hub process, matched to exams the way the RSO's two processes
// say (DESIGN.md): the exam number in PatientID, the facility's accession or patient, or a new exam that a late
// HL7 or FHIR order is merged into. What a user sees: FHIR ImagingStudy and ServiceRequest.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Bundle, ImagingStudy, Patient, ServiceRequest } from '@medplum/fhirtypes';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { api, repoRoot, stopHub, type HubProcess } from '../support/hub-process.ts';
import { datasetOf } from '../dicom/make-instance.ts';
import { fhir, imagingStudy, startOrdersHub, storescu, writeStudy } from './dicom-support.ts';

const fixture = (name: string) => readFile(path.join(repoRoot, 'test', 'fixtures', 'dicom', name));
const matchExtension = 'urn:rso-hub:fhir:StructureDefinition:study-match';

let hub: HubProcess;
let mllpPort: number;

test.before(async () => {
  ({ hub, mllpPort } = await startOrdersHub());
});

test.after.always(async () => {
  if (hub) await stopHub(hub, 'SIGKILL');
});

async function order(name: string): Promise<void> {
  const client = await MllpTestClient.connect(mllpPort);
  try {
    const ack = await client.exchange(await fixture(name));
    if (ack.get('MSA-1') !== 'AA') throw new Error(`${name} not accepted: ${ack.toString()}`);
  } finally {
    await client.close();
  }
}

async function serviceRequestByPlacer(placer: string): Promise<ServiceRequest | undefined> {
  const bundle = await fhir<Bundle<ServiceRequest>>(hub, `ServiceRequest?identifier=${placer}`);
  return bundle.entry?.[0]?.resource;
}

async function studyOnceMatched(studyInstanceUid: string): Promise<ImagingStudy> {
  let found: ImagingStudy | undefined;
  await until(
    async () => {
      found = await imagingStudy(hub, studyInstanceUid);
      return found !== undefined;
    },
    15_000,
    `ImagingStudy/${studyInstanceUid}`,
  );
  return found!;
}

function methodOf(study: ImagingStudy): string | undefined {
  return study.extension?.find((e) => e.url === matchExtension)?.valueCode;
}

async function patientByMrn(mrn: string): Promise<Patient> {
  const bundle = await fhir<Bundle<Patient>>(hub, `Patient?identifier=urn:oid:2.16.840.1.113883.3.9999.1|${mrn}`);
  const patient = bundle.entry?.[0]?.resource;
  if (!patient) throw new Error(`no patient ${mrn}`);
  return patient;
}

test('a study from a known AE is stored byte for byte and makes a new exam; an unknown AE is refused', async (t) => {
  const study = await writeStudy(3, { patientId: 'V777005', patientName: 'DOE^JOHN', accessionNumber: 'ACC-C-5' });
  const sent = await storescu(hub, 'VALLEY_CT', study.files);
  t.is(sent.code, 0, sent.stderr);

  const refused = await writeStudy(1, { patientId: 'V777006' });
  const stranger = await storescu(hub, 'STRANGER_AE', refused.files);
  t.not(stranger.code, 0);
  t.regex(`${stranger.stdout}${stranger.stderr}`, /Association Rejected/i);
  t.is(await imagingStudy(hub, refused.studyInstanceUid), undefined);

  const imaging = await studyOnceMatched(study.studyInstanceUid);
  t.is(methodOf(imaging), 'new-exam');
  t.is(imaging.numberOfInstances, 3);
  const examNumber = imaging.basedOn?.[0]?.reference?.replace('ServiceRequest/', '');
  t.regex(examNumber ?? '', /^RSO-\d{4}-\d+$/);
  const exam = await fhir<ServiceRequest>(hub, `ServiceRequest/${examNumber}`);
  t.is(
    exam.extension?.find((e) => e.url === 'urn:rso-hub:fhir:StructureDefinition:exam-status')?.valueCode,
    'images-received',
  );
  t.is(exam.subject?.reference, `Patient/${(await patientByMrn('V777005')).id}`);
  t.is((await patientByMrn('V777005')).name?.[0]?.family, 'DOE');

  for (const [i, file] of study.files.entries()) {
    const uid = study.sopInstanceUids[i]!;
    const kept = await readFile(path.join(hub.dataDir, 'dicom', 'studies', study.studyInstanceUid, `${uid}.dcm`));
    const original = await readFile(file);
    t.true(
      datasetOf(kept, uid).equals(datasetOf(original, file)),
      `${uid}: the stored data set (pixel data included) differs from what was sent`,
    );
  }
  await until(
    async () => (await imagingStudy(hub, study.studyInstanceUid))?.status === 'available',
    15_000,
    'the study complete after the quiet time',
  );

  // (a) full process: a second study whose PatientID is that exam number goes to the same exam.
  const followUp = await writeStudy(1, { patientId: examNumber!, accessionNumber: '' });
  t.is((await storescu(hub, 'VALLEY_MR', followUp.files)).code, 0);
  const second = await studyOnceMatched(followUp.studyInstanceUid);
  t.is(methodOf(second), 'exam-number');
  t.is(second.basedOn?.[0]?.reference, `ServiceRequest/${examNumber}`);
});

test('(b) an accession number of the facility matches its ordered exam', async (t) => {
  await order('orm-accession-order.hl7');
  await until(async () => (await serviceRequestByPlacer('VG-PLC-910')) !== undefined, 15_000, 'the order');
  const ordered = await serviceRequestByPlacer('VG-PLC-910');
  const study = await writeStudy(2, {
    patientId: 'SOMETHING-ELSE',
    patientName: 'ROE^RICHARD',
    accessionNumber: 'ACC-B-10',
  });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  const imaging = await studyOnceMatched(study.studyInstanceUid);
  t.is(methodOf(imaging), 'accession');
  t.is(imaging.basedOn?.[0]?.reference, `ServiceRequest/${ordered?.id}`);
  const search = await fhir<Bundle<ImagingStudy>>(hub, `ImagingStudy?identifier=ACC-B-10`);
  t.deepEqual(
    search.entry?.map((e) => e.resource?.id),
    [study.studyInstanceUid],
  );
  const byUid = await fhir<Bundle<ImagingStudy>>(
    hub,
    `ImagingStudy?identifier=urn:dicom:uid|urn:oid:${study.studyInstanceUid}`,
  );
  t.is(byUid.total, 1);
});

test('(b) the patient id and name of the facility match the patient open exam', async (t) => {
  await order('orm-patient-order.hl7');
  await until(async () => (await serviceRequestByPlacer('VG-PLC-920')) !== undefined, 15_000, 'the order');
  const ordered = await serviceRequestByPlacer('VG-PLC-920');
  const study = await writeStudy(1, { patientId: 'V777020', patientName: 'Poe^Paula', accessionNumber: '' });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  const imaging = await studyOnceMatched(study.studyInstanceUid);
  t.is(methodOf(imaging), 'patient');
  t.is(imaging.basedOn?.[0]?.reference, `ServiceRequest/${ordered?.id}`);
  const patient = await patientByMrn('V777020');
  const byPatient = await fhir<Bundle<ImagingStudy>>(hub, `ImagingStudy?patient=Patient/${patient.id}`);
  t.deepEqual(
    byPatient.entry?.map((e) => e.resource?.id),
    [study.studyInstanceUid],
  );
});

test('an HL7 order arriving after its images is merged into the exam the images made', async (t) => {
  const study = await writeStudy(2, { patientId: 'V777001', patientName: 'DOE^JANE', accessionNumber: 'ACC-C-1' });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  const imaging = await studyOnceMatched(study.studyInstanceUid);
  t.is(methodOf(imaging), 'new-exam');
  const examNumber = imaging.basedOn?.[0]?.reference?.replace('ServiceRequest/', '');

  await order('orm-late-order.hl7');
  await until(async () => (await serviceRequestByPlacer('VG-PLC-901')) !== undefined, 15_000, 'the late order');
  const merged = await serviceRequestByPlacer('VG-PLC-901');
  t.is(merged?.id, examNumber, 'the order became the exam the images created');
  t.is(merged?.code?.coding?.[0]?.code, '74177');
  const patient = await patientByMrn('V777001');
  const exams = await fhir<Bundle<ServiceRequest>>(hub, `ServiceRequest?patient=Patient/${patient.id}`);
  t.is(exams.total, 1, 'one exam, not two');
});

test('a FHIR ServiceRequest arriving after its images is merged into the exam the images made', async (t) => {
  const study = await writeStudy(1, { patientId: 'V777002', patientName: 'SMITH^ANNA', accessionNumber: '' });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  const imaging = await studyOnceMatched(study.studyInstanceUid);
  const examNumber = imaging.basedOn?.[0]?.reference?.replace('ServiceRequest/', '');
  const patient = await patientByMrn('V777002');

  const body = (await fixture('late-order-service-request.json'))
    .toString('utf8')
    .replace('REPLACED-BY-TEST', patient.id!);
  const response = await api(hub, '/fhir/R4/ServiceRequest', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/fhir+json' },
  });
  t.is(response.status, 201, await response.clone().text());
  const created = (await response.json()) as ServiceRequest;
  t.is(created.id, examNumber);
  t.true(created.identifier?.some((i) => i.value === 'ORD-LATE-0001'));
  const exams = await fhir<Bundle<ServiceRequest>>(hub, `ServiceRequest?patient=Patient/${patient.id}`);
  t.is(exams.total, 1);
});
