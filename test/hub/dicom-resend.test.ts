// What an analyst does with a study delivery in the real hub (issue 20 item 10): resend after a partial
// delivery (only the instances the PACS has not confirmed go again), resend in full when the PACS lost the study,
// and the accession coercion that files the routed study at the PACS under the order's accession number.
// Orthanc is the PACS where tags must be read back; the hub's own SCP (as in dicom-routing.test.ts) is the PACS
// that refuses chosen instances, since neither storescp nor Orthanc can be told to from the command line.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { Bundle, ServiceRequest } from '@medplum/fhirtypes';
import { setLogLevel } from '../../runtime/log.ts';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { api, freePort, repoRoot, startHub, stopHub, tempDir, waitHealthy } from '../support/hub-process.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { missingBinaries, startOrthanc } from '../dicom/peers.ts';
import { dicomTestConfig, fhir, hubAe, refusingPacs, storescu, valleyFacility, writeStudy } from './dicom-support.ts';

setLogLevel('error');

test.before('dcmtk and Orthanc are installed (CI: apt-get install -y dcmtk orthanc)', () => {
  const missing = missingBinaries(['storescu', 'Orthanc']);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y dcmtk orthanc`);
});

/** studies-to-pacs that gives up after one attempt, so the analyst's resend is what sends again. */
function oneAttemptChannel() {
  return {
    id: 'studies-to-pacs',
    name: 'Complete studies to the radiologist PACS',
    enabled: true,
    source: { type: 'exam-events', settings: { types: ['exam.study-complete'], pollMs: 50 } },
    destinations: [
      {
        name: 'radiologist-pacs',
        connector: {
          type: 'dicom-scu',
          settings: { target: 'facility-pacs', callingAe: hubAe, connectTimeoutMs: 1000, responseTimeoutMs: 10_000 },
        },
        queue: 'ordered',
        maxAttempts: 1,
      },
    ],
  };
}

interface Delivery {
  messageId: string;
  state: string;
  response?: string;
  lastError?: string;
}

async function pacsDelivery(hub: HubProcess): Promise<Delivery | undefined> {
  const listed = await api(hub, '/api/messages?channelId=studies-to-pacs');
  const list = (await listed.json()) as { items: Array<{ id?: string; _id?: string }> };
  const id = list.items[0]?.id ?? list.items[0]?._id;
  if (id === undefined) return undefined;
  type Stored = { destinations: Array<Omit<Delivery, 'messageId'> & { name: string }> };
  const message = (await (await api(hub, `/api/messages/${id}`)).json()) as Stored;
  const delivery = message.destinations.find((d) => d.name === 'radiologist-pacs');
  return delivery === undefined ? undefined : { ...delivery, messageId: id };
}

async function resend(hub: HubProcess, messageId: string, body: Record<string, unknown>): Promise<void> {
  const request = { method: 'POST', body: JSON.stringify({ destination: 'radiologist-pacs', ...body }) };
  const response = await api(hub, `/api/messages/${messageId}/resend`, request);
  if (response.status !== 202) throw new Error(`resend: ${response.status} ${await response.text()}`);
}

async function hubFor(t: ExecutionContext, pacs: { aeTitle: string; port: number }): Promise<HubProcess> {
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [await valleyFacility({ radiologistPacs: { ...pacs, host: '127.0.0.1' } })],
    channels: [oneAttemptChannel()],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  return hub;
}

test('after a partial delivery the analyst’s resend sends only the instances the PACS did not store', async (t) => {
  const refused = new Set<string>();
  const pacs = await refusingPacs(t, 'HALF_PACS', (uid) => refused.has(uid));
  const hub = await hubFor(t, { aeTitle: 'HALF_PACS', port: pacs.pacs.port });
  const study = await writeStudy(4, { patientId: 'V666001', accessionNumber: 'ACC-RS-1' });
  refused.add(study.sopInstanceUids[2]!);
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  await until(async () => (await pacsDelivery(hub))?.state === 'error', 60_000, 'the delivery given up');
  t.regex((await pacsDelivery(hub))?.lastError ?? '', /^3\/4 instances stored at HALF_PACS; 1 refused/);
  t.deepEqual([...pacs.received].sort(), [...study.sopInstanceUids].sort());

  refused.clear();
  await resend(hub, (await pacsDelivery(hub))!.messageId, {});
  await until(async () => (await pacsDelivery(hub))?.state === 'sent', 60_000, 'the resend delivered');
  t.is((await pacsDelivery(hub))?.response, '4/4 instances stored at HALF_PACS');
  t.deepEqual(pacs.received.slice(4), [study.sopInstanceUids[2]!], 'only the refused instance went again');
});

test('a resend the analyst asks for in full sends every instance again, even ones the PACS stored', async (t) => {
  const pacs = await refusingPacs(t, 'LOST_PACS', () => false);
  const hub = await hubFor(t, { aeTitle: 'LOST_PACS', port: pacs.pacs.port });
  const study = await writeStudy(3, { patientId: 'V666002', accessionNumber: 'ACC-RS-2' });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  await until(async () => (await pacsDelivery(hub))?.state === 'sent', 60_000, 'the study delivered');
  const messageId = (await pacsDelivery(hub))!.messageId;

  await resend(hub, messageId, {});
  const answered = async () => ((await pacsDelivery(hub))?.response ?? '').endsWith('(already)');
  await until(answered, 60_000, 'the plain resend answered');
  t.is(pacs.received.length, 3, 'a plain resend of a delivered study sends nothing');

  await resend(hub, messageId, { all: true });
  await until(async () => pacs.received.length === 6, 60_000, 'the full resend at the PACS');
  const recorded = async () => (await pacsDelivery(hub))?.response === '3/3 instances stored at LOST_PACS';
  await until(recorded, 60_000, 'the full resend recorded');
  t.deepEqual(pacs.received.slice(3).sort(), [...study.sopInstanceUids].sort());
  const notBoolean = { method: 'POST', body: '{"destination":"radiologist-pacs","all":"yes"}' };
  t.is((await api(hub, `/api/messages/${messageId}/resend`, notBoolean)).status, 400);
});

test('with accession coercion the routed study carries the accession number the order supplied', async (t) => {
  const orthanc = await startOrthanc(await tempDir('orthanc'), hubAe, { aeTitle: 'RSO_PACS' });
  t.teardown(() => orthanc.stop());
  const mllpPort = await freePort();
  const facility = await valleyFacility({
    radiologistPacs: { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: orthanc.port },
    coercion: { patientIdFromExamNumber: true, accessionFromOrder: true },
  });
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [facility],
    channels: [
      {
        ...oneAttemptChannel(),
        destinations: [
          {
            ...oneAttemptChannel().destinations[0]!,
            maxAttempts: 0,
            retry: { initialDelayMs: 200, maxDelayMs: 500, multiplier: 2 },
          },
        ],
      },
      {
        id: 'valley-orders',
        name: 'Valley orders to exams',
        enabled: true,
        source: { type: 'mllp', settings: { host: '127.0.0.1', port: mllpPort, messageTypes: ['ORM^O01'] } },
        destinations: [
          { name: 'exams', connector: { type: 'rso-exams', settings: { timeZone: 'UTC' } }, queue: 'ordered' },
        ],
      },
    ],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);

  // The order (accession ACC-B-10), then images that name the exam by its number and carry no accession.
  const client = await MllpTestClient.connect(mllpPort);
  const orm = await readFile(path.join(repoRoot, 'test', 'fixtures', 'dicom', 'orm-accession-order.hl7'));
  const ack = await client.exchange(orm);
  await client.close();
  t.is(ack.get('MSA-1'), 'AA');
  let examNumber: string | undefined;
  await until(
    async () => {
      const found = await fhir<Bundle<ServiceRequest>>(hub, 'ServiceRequest?identifier=VG-PLC-910');
      examNumber = found.entry?.[0]?.resource?.id;
      return examNumber !== undefined;
    },
    15_000,
    'the order',
  );
  const study = await writeStudy(2, { patientId: examNumber!, accessionNumber: '' });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);

  type OrthancStudy = {
    MainDicomTags: { StudyInstanceUID?: string; AccessionNumber?: string };
    PatientMainDicomTags?: { PatientID?: string };
  };
  let atPacs: OrthancStudy | undefined;
  await until(
    async () => {
      const studies = (await orthanc.get('/studies?expand')) as OrthancStudy[];
      atPacs = studies.find((s) => s.MainDicomTags.StudyInstanceUID === study.studyInstanceUid);
      return atPacs !== undefined && (await pacsDelivery(hub))?.state === 'sent';
    },
    60_000,
    'the study at the PACS',
  );
  t.is(atPacs?.MainDicomTags.AccessionNumber, 'ACC-B-10');
  t.is(atPacs?.PatientMainDicomTags?.PatientID, examNumber);
});
