// Every resource the running hub serves must pass the hub's own FHIR validator, name its systems with absolute
// URIs, and come back unchanged through a PUT: a client that reads a Patient and writes it back must not be
// refused. The exams come in the three ways there are: an HL7 order (CX-4 `TEC MRN`, EI-2 and CE-3 codes with
// spaces), FHIR writes, and DICOM studies (Issuer of Patient ID), which match the HL7 patient by the same mapping.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Bundle, ImagingStudy, Patient, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { loadDefinitions, validate } from '../../fhir/validator.ts';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { api, repoRoot, stopHub, type HubProcess } from '../support/hub-process.ts';
import { fhir, imagingStudy, startOrdersHub, storescu, writeStudy } from './dicom-support.ts';

let hub: HubProcess;
let mllpPort: number;

test.before(async () => {
  // Indexing the definitions takes seconds on a busy machine: not between two requests on a kept-alive socket.
  loadDefinitions();
  ({ hub, mllpPort } = await startOrdersHub());
});

test.after.always(async () => {
  if (hub) await stopHub(hub, 'SIGKILL');
});

test.afterEach.always((t) => {
  if (hub && (hub.child.exitCode !== null || hub.child.signalCode !== null))
    t.log(`the hub exited ${hub.child.exitCode}: ${hub.stderr().slice(-2000)}`);
});

async function sendHl7(name: string): Promise<void> {
  const client = await MllpTestClient.connect(mllpPort);
  try {
    const ack = await client.exchange(await readFile(path.join(repoRoot, 'test', 'fixtures', 'hl7', name)));
    if (ack.get('MSA-1') !== 'AA') throw new Error(`${name} not accepted: ${ack.toString()}`);
  } finally {
    await client.close();
  }
}

async function fhirFixture(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(repoRoot, 'test', 'fixtures', 'fhir', name), 'utf8')) as Record<
    string,
    unknown
  >;
}

async function matched(studyInstanceUid: string): Promise<ImagingStudy> {
  let found: ImagingStudy | undefined;
  await until(
    async () => {
      found = await imagingStudy(hub, studyInstanceUid);
      return found !== undefined;
    },
    20_000,
    `ImagingStudy/${studyInstanceUid}`,
  );
  return found!;
}

/** RFC 3986 §3: a scheme, a colon, and no white space. */
const absoluteUri = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/** Every Identifier.system and Coding.system in the resource, with its path (ContactPoint.system is a code). */
function systemsOf(
  value: unknown,
  at: string,
  found: Array<{ at: string; system: string }> = [],
): Array<{ at: string; system: string }> {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) systemsOf(item, `${at}[${i}]`, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'telecom') continue;
      if (key === 'system' && typeof child === 'string') found.push({ at: `${at}.system`, system: child });
      else systemsOf(child, `${at}.${key}`, found);
    }
  }
  return found;
}

async function all<T extends Resource>(type: string): Promise<T[]> {
  const bundle = await fhir<Bundle<T>>(hub, `${type}?_count=100`);
  return (bundle.entry ?? []).map((entry) => entry.resource!);
}

test('HL7-, FHIR- and DICOM-made exams: every Patient, ServiceRequest and ImagingStudy passes the validator, and a GET then unchanged PUT succeeds', async (t) => {
  // HL7: an order whose patient has a second MRN from the `TEC MRN` authority.
  await sendHl7('identity/orm-tec-mrn.hl7');
  await until(
    async () => ((await fhir<Bundle<ServiceRequest>>(hub, 'ServiceRequest?identifier=TEC-PLC-1')).total ?? 0) > 0,
    20_000,
    'the HL7 order',
  );
  const ordered = (await fhir<Bundle<ServiceRequest>>(hub, 'ServiceRequest?identifier=TEC-PLC-1')).entry![0]!.resource!;

  // DICOM: the same patient by PatientID + Issuer of Patient ID finds that order; an unknown one makes an exam.
  const forOrder = await writeStudy(1, {
    patientId: 'T-1001',
    issuerOfPatientId: 'TEC MRN',
    patientName: 'TECH^TERRY',
    accessionNumber: '',
  });
  t.is((await storescu(hub, 'VALLEY_CT', forOrder.files)).code, 0);
  const orderStudy = await matched(forOrder.studyInstanceUid);
  t.is(
    orderStudy.basedOn?.[0]?.reference,
    `ServiceRequest/${ordered.id}`,
    'matched to the HL7 order through the TEC MRN',
  );
  const unknown = await writeStudy(1, {
    patientId: 'T-2002',
    issuerOfPatientId: 'TEC MRN',
    patientName: 'NEW^NORA',
    accessionNumber: 'ACC-ID-2',
  });
  const noId = await writeStudy(1, { patientId: '', patientName: '', accessionNumber: 'ACC-ID-3' });
  t.is((await storescu(hub, 'VALLEY_CT', [...unknown.files, ...noId.files])).code, 0);
  await matched(unknown.studyInstanceUid);
  await matched(noId.studyInstanceUid);
  const byIssuer = await fhir<Bundle<Patient>>(
    hub,
    `Patient?identifier=${encodeURIComponent('urn:rso-hub:facility:VALLEYGEN:authority:TEC%20MRN|T-2002')}`,
  );
  t.is(byIssuer.total, 1, 'the DICOM-made patient has the TEC MRN system of the README fallback');

  // FHIR: a patient and an order.
  const created = await api(hub, '/fhir/R4/Patient', {
    method: 'POST',
    body: JSON.stringify(await fhirFixture('patient-jane-doe.json')),
    headers: { 'content-type': 'application/fhir+json' },
  });
  t.is(created.status, 201, await created.clone().text());
  const jane = (await created.json()) as Patient;
  const request = {
    ...(await fhirFixture('service-request-ct-head.json')),
    subject: { reference: `Patient/${jane.id}` },
  };
  const order = await api(hub, '/fhir/R4/ServiceRequest', {
    method: 'POST',
    body: JSON.stringify(request),
    headers: { 'content-type': 'application/fhir+json' },
  });
  t.is(order.status, 201, await order.clone().text());

  const patients = await all<Patient>('Patient');
  const requests = await all<ServiceRequest>('ServiceRequest');
  const studies = await all<ImagingStudy>('ImagingStudy');
  t.is(patients.length, 4);
  t.is(requests.length, 4);
  t.is(studies.length, 3);
  for (const resource of [...patients, ...requests]) {
    const response = await api(hub, `/fhir/R4/${resource.resourceType}/${resource.id}`, {
      method: 'PUT',
      body: JSON.stringify(resource),
      headers: { 'content-type': 'application/fhir+json' },
    });
    t.is(response.status, 200, `PUT ${resource.resourceType}/${resource.id} unchanged: ${await response.text()}`);
  }
  for (const resource of [...patients, ...requests, ...studies]) {
    const name = `${resource.resourceType}/${resource.id}`;
    t.notThrows(() => validate(resource, [resource.resourceType]), `${name} passes the hub's validator`);
    for (const { at, system } of systemsOf(resource, resource.resourceType))
      t.regex(system, absoluteUri, `${name} ${at}: "${system}" is an absolute URI`);
  }
});
