// The RSO order flow through a running hub, as a facility and an integration client see it: HL7 orders and ADT
// over MLLP change exams, FHIR finds them, and a FHIR transaction puts an exam on the facility's active list.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Bundle, Patient, ServiceRequest } from '@medplum/fhirtypes';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { api, freePort, repoRoot, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';

const hl7 = (name: string) => readFile(path.join(repoRoot, 'test', 'fixtures', 'hl7', name));

async function facility(): Promise<{ code: string } & Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(repoRoot, 'config', 'facilities', 'valley-general.json'), 'utf8'));
}

function ordersChannel(port: number) {
  return {
    id: 'valley-orders',
    name: 'Valley orders to exams',
    enabled: true,
    source: {
      type: 'mllp',
      settings: { host: '127.0.0.1', port, messageTypes: ['ORM^O01', 'OMI^O23', 'ADT^A04', 'ADT^A08', 'ADT^A40'] },
    },
    destinations: [
      { name: 'exams', connector: { type: 'rso-exams', settings: { timeZone: 'America/New_York' } }, queue: 'ordered' },
    ],
  };
}

async function fhir<T>(hub: HubProcess, pathname: string, init?: RequestInit): Promise<T> {
  const response = await api(hub, `/fhir/R4/${pathname}`, init);
  if (!response.ok) throw new Error(`${pathname}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function serviceRequest(hub: HubProcess, placer: string): Promise<ServiceRequest | undefined> {
  const bundle = await fhir<Bundle<ServiceRequest>>(hub, `ServiceRequest?identifier=${placer}`);
  return bundle.entry?.[0]?.resource;
}

async function sendAll(client: MllpTestClient, names: string[]): Promise<void> {
  for (const name of names) {
    const ack = await client.exchange(await hl7(name));
    if (ack.get('MSA-1') !== 'AA' && ack.get('MSA-1') !== 'CA')
      throw new Error(`${name} not accepted: ${ack.toString()}`);
  }
}

test('ORM NW, XO and CA over MLLP create, change and cancel exams that FHIR ServiceRequest search finds', async (t) => {
  const port = await freePort();
  const hub = await startHub({ channels: [ordersChannel(port)], facilities: [await facility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(port);
  t.teardown(() => void client.close());

  await sendAll(client, ['orders/orm-nw-v24-multi.hl7']);
  await until(async () => (await serviceRequest(hub, 'VG-PLC-2')) !== undefined, 15_000, 'the new exams in FHIR');
  const first = await serviceRequest(hub, 'VG-PLC-1');
  t.is(first?.status, 'active');
  t.truthy(
    first?.identifier?.some((i) => /^RSO-\d{4}-\d+$/.test(i.value ?? '')),
    'the hub generated an exam number',
  );

  await sendAll(client, ['orders/orm-xo-v24.hl7', 'orders/orm-ca-v24.hl7']);
  await until(async () => (await serviceRequest(hub, 'VG-PLC-2'))?.status === 'revoked', 15_000, 'the CA');
  t.is((await serviceRequest(hub, 'VG-PLC-1'))?.priority, 'stat', 'XO made the first order stat');

  await sendAll(client, ['adt/adt-a08-v24-valley.hl7']);
  await until(
    async () => {
      const patients = await fhir<Bundle<Patient>>(hub, 'Patient?identifier=V100200');
      return patients.entry?.[0]?.resource?.name?.[0]?.family === "O'BRIEN-KELLY";
    },
    15_000,
    'A08 renames the patient',
  );
  t.pass();
});

test('ADT A40 merges two patients and moves the exam to the survivor', async (t) => {
  const port = await freePort();
  const hub = await startHub({ channels: [ordersChannel(port)], facilities: [await facility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(port);
  t.teardown(() => void client.close());

  await sendAll(client, ['orders/orm-nw-v251.hl7', 'adt/adt-a04-v251-survivor.hl7', 'adt/adt-a40-v251.hl7']);
  const survivorId = async () =>
    (await fhir<Bundle<Patient>>(hub, 'Patient?identifier=V555999')).entry?.[0]?.resource?.id;
  await until(
    async () => {
      const id = await survivorId();
      return id !== undefined && (await serviceRequest(hub, 'VG-PLC-51'))?.subject?.reference === `Patient/${id}`;
    },
    15_000,
    'the exam on the survivor',
  );
  t.pass();
});

test('a FHIR transaction with a Patient and a ServiceRequest puts the exam on the facility active list', async (t) => {
  const hub = await startHub({ facilities: [await facility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const transaction = await readFile(
    path.join(repoRoot, 'test', 'fixtures', 'fhir', 'transaction-new-patient-and-order.json'),
    'utf8',
  );
  const result = await fhir<Bundle>(hub, '', {
    method: 'POST',
    body: transaction,
    headers: { 'content-type': 'application/fhir+json' },
  });
  t.is(result.type, 'transaction-response');
  t.true(result.entry?.every((e) => e.response?.status?.startsWith('201')));
  const active = (await (await api(hub, '/api/facilities/VALLEYGEN/active')).json()) as Array<{
    examNumber: string;
    identifiers: Array<{ value: string }>;
  }>;
  t.is(active.length, 1);
  t.true(active[0]?.identifiers.some((i) => i.value === 'ORD-777001'));
  t.is((await fetch(hub.url('/api/facilities/VALLEYGEN/active'))).status, 401);
});
