// The report path through the real hub process, as a facility sees it: an order (ORM NW) over MLLP, a final
// report on its exam, then ORU^R01 at the facility EHR's MLLP listener and the DiagnosticReport at its FHIR
// server; an amendment follows as a correction; and a hub killed (SIGKILL) between a final report and its
// delivery delivers it after the restart. The radiologist signs and amends through the hub's FHIR
// DiagnosticReport API.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Bundle, DiagnosticReport, ImagingStudy, ServiceRequest } from '@medplum/fhirtypes';
import { MllpTestClient, MllpTestListener } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { FhirReportReceiver } from '../support/fhir-report-receiver.ts';
import { api, freePort, repoRoot, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { readWithPythonHl7 } from '../support/python-hl7.ts';
import { storescu, writeStudy } from './dicom-support.ts';

const sample = async (...parts: string[]) =>
  JSON.parse(await readFile(path.join(repoRoot, 'config', ...parts), 'utf8')) as Record<string, unknown> & {
    id: string;
    code: string;
  };

/** The sample channels, with the orders and dictation sources on free ports, no RIS copy, and quick retries. */
async function channels(ordersPort: number, dictationPort: number) {
  const orders = (await sample('channels', 'orders-mllp.json')) as Awaited<ReturnType<typeof sample>> & {
    source: { settings: Record<string, unknown> };
    destinations: Array<{ name: string }>;
  };
  orders.source.settings['port'] = ordersPort;
  orders.destinations = orders.destinations.filter((d) => d.name === 'exams');
  const reports = (await sample('channels', 'reports-to-ehr.json')) as Awaited<ReturnType<typeof sample>> & {
    destinations: Array<{ connector: { type: string; settings: Record<string, unknown> }; retry: unknown }>;
  };
  for (const destination of reports.destinations) {
    destination.retry = { initialDelayMs: 100, maxDelayMs: 500, multiplier: 2 };
    destination.connector.settings =
      destination.connector.type === 'report-oru'
        ? { connectTimeoutMs: 1000, ackTimeoutMs: 5000 }
        : { timeoutMs: 5000 };
  }
  const dictation = (await sample('channels', 'dictation-mllp.json')) as Awaited<ReturnType<typeof sample>> & {
    source: { settings: Record<string, unknown> };
  };
  dictation.source.settings['port'] = dictationPort;
  return [orders, reports, dictation];
}

async function facility(ehrPort: number, fhirBase: string) {
  const valley = await sample('facilities', 'valley-general.json');
  valley['reportDestinations'] = {
    ehrMllp: { host: '127.0.0.1', port: ehrPort, version: '2.5.1', includePdf: true },
    ehrFhirBaseUrl: fhirBase,
  };
  return valley;
}

function orm(placer: string, controlId: string): Buffer {
  return Buffer.from(
    [
      `MSH|^~\\&|RIS|VALLEYGEN|RSO HUB|RSO|20261201093000||ORM^O01^ORM_O01|${controlId}|P|2.5.1`,
      `PID|1||MRN-${placer}^^^VALLEYGEN^MR||RIVERA^ANA^M||19800312|F`,
      `ORC|NW|${placer}^VALLEY_RIS||||||||||1234^WELBY^MARCUS`,
      `OBR|1|${placer}^VALLEY_RIS||CTHEAD^CT HEAD WO CONTRAST^C4|||20261201090000|||||||||||ACC-${placer}`,
      '',
    ].join('\r'),
  );
}

async function fhir<T>(hub: HubProcess, pathname: string, init?: RequestInit): Promise<T> {
  const response = await api(hub, `/fhir/R4/${pathname}`, {
    ...init,
    headers: { 'content-type': 'application/fhir+json', ...(init?.headers as Record<string, string>) },
  });
  if (!response.ok) throw new Error(`${pathname}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The exam number of the order, as FHIR serves it (the ServiceRequest id). */
async function examOf(hub: HubProcess, placer: string): Promise<string> {
  let id: string | undefined;
  await until(
    async () => {
      const bundle = await fhir<Bundle<ServiceRequest>>(hub, `ServiceRequest?identifier=${placer}`);
      id = bundle.entry?.[0]?.resource?.id;
      return id !== undefined;
    },
    15_000,
    `the exam of order ${placer}`,
  );
  return id!;
}

/** A radiologist signs a final report over FHIR, as a reading workstation does. */
function signFinal(hub: HubProcess, examNumber: string, impression: string): Promise<DiagnosticReport> {
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    status: 'final',
    basedOn: [{ reference: `ServiceRequest/${examNumber}` }],
    code: { text: 'CT head' },
    resultsInterpreter: [{ reference: 'Practitioner/rad-chen' }],
    conclusion: impression,
    presentedForm: [{ contentType: 'text/plain', data: Buffer.from('Ventricles normal.').toString('base64') }],
  };
  return fhir<DiagnosticReport>(hub, 'DiagnosticReport', { method: 'POST', body: JSON.stringify(report) });
}

async function amend(hub: HubProcess, id: string, impression: string): Promise<DiagnosticReport> {
  const current = await fhir<DiagnosticReport>(hub, `DiagnosticReport/${id}`);
  return fhir<DiagnosticReport>(hub, `DiagnosticReport/${id}`, {
    method: 'PUT',
    headers: { 'if-match': `W/"${current.meta?.versionId}"` },
    body: JSON.stringify({ ...current, status: 'amended', conclusion: impression }),
  });
}

async function reportDeliveries(hub: HubProcess) {
  const page = (await (await api(hub, '/api/messages?channelId=reports-to-ehr&limit=100')).json()) as {
    items: Array<{ destinations: Array<{ name: string; state: string; attempts: number }> }>;
  };
  return page.items.flatMap((m) => m.destinations);
}

test('order in, study by storescu, final report out as ORU^R01 and DiagnosticReport, amendment as correction, SIGKILL loses nothing', async (t) => {
  const [ordersPort, ehrPort, dictationPort] = [await freePort(), await freePort(), await freePort()];
  const fhir = await FhirReportReceiver.start();
  t.teardown(() => fhir.stop());
  const options = {
    channels: await channels(ordersPort, dictationPort),
    facilities: [await facility(ehrPort, fhir.baseUrl)],
  };
  const hub = await startHub(options);
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  let ehr = await MllpTestListener.start(() => 'AA', ehrPort);
  t.teardown(() => ehr.stop());

  const client = await MllpTestClient.connect(ordersPort);
  t.is((await client.exchange(orm('VG-R-1', 'ORD1'))).get('MSA-1'), 'AA');
  t.is((await client.exchange(orm('VG-R-2', 'ORD2'))).get('MSA-1'), 'AA');
  await client.close();
  const exam = await examOf(hub, 'VG-R-1');
  // The technician's images: a study by storescu, matched to the ordered exam by its accession.
  const study = await writeStudy(3, {
    patientId: 'MRN-VG-R-1',
    patientName: 'RIVERA^ANA',
    accessionNumber: 'ACC-VG-R-1',
  });
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);
  let imaging: ImagingStudy | undefined;
  await until(
    async () => {
      const response = await api(hub, '/fhir/R4/ImagingStudy?identifier=ACC-VG-R-1');
      const found = (await response.json()) as Bundle<ImagingStudy>;
      imaging = found.entry?.[0]?.resource;
      return imaging?.basedOn !== undefined;
    },
    30_000,
    'the study matched to the exam',
  );
  t.is(imaging?.basedOn?.[0]?.reference, `ServiceRequest/${exam}`);

  const report = await signFinal(hub, exam, 'No acute findings.');
  await until(() => ehr.received.length === 1 && fhir.reports.length === 1, 30_000, 'the final at the EHR');
  const final = await readWithPythonHl7(ehr.received[0]!.toString(), ['OBR.F25', 'OBR.F2.R1.C1', 'OBR.F18', 'MSH.F12']);
  t.like(final.fields, { 'OBR.F25': 'F', 'OBR.F2.R1.C1': 'VG-R-1', 'OBR.F18': 'ACC-VG-R-1', 'MSH.F12': '2.5.1' });
  t.true(final.obx.some((o) => o.type === 'ED'));
  t.is(fhir.reports[0]!.resource.status, 'final');

  await amend(hub, report.id!, 'Amended: small left pleural effusion.');
  await until(() => ehr.received.length === 2 && fhir.reports[0]?.versionId === 2, 30_000, 'the amendment');
  const amended = await readWithPythonHl7(ehr.received[1]!.toString(), ['OBR.F25']);
  t.is(amended.fields['OBR.F25'], 'C');
  t.true(amended.obx.some((o) => o.value === 'Amended: small left pleural effusion.'));
  t.is(fhir.reports.length, 1);
  t.is(fhir.reports[0]!.resource.status, 'amended');

  // The EHR goes down; a final report is queued for it; the hub is killed before it could deliver.
  await ehr.stop();
  // The second exam's report comes from the dictation system, as ORU^R01 over MLLP.
  await examOf(hub, 'VG-R-2');
  const dictation = await MllpTestClient.connect(dictationPort);
  const dictated = await readFile(
    path.join(repoRoot, 'test', 'fixtures', 'hl7', 'corpus', 'results', 'v23-tx-lines-final.hl7'),
  );
  const oru = Buffer.from(
    dictated
      .toString('latin1')
      .replaceAll('VG-D-1', 'VG-R-2')
      .replace(/RSO-2026-000101/g, 'NONE'),
    'latin1',
  );
  t.is((await dictation.exchange(oru)).get('MSA-1'), 'AA');
  await dictation.close();
  await until(
    async () =>
      (await reportDeliveries(hub)).some((d) => d.name === 'ehr-hl7' && d.state === 'queued' && d.attempts > 0),
    30_000,
    'the ORU queued, its first attempt failed',
  );
  hub.child.kill('SIGKILL');
  await hub.exited;

  ehr = await MllpTestListener.start(() => 'AA', ehrPort);
  const again = await startHub({ ...options, dataDir: hub.dataDir, port: hub.port });
  t.teardown(() => void stopHub(again, 'SIGKILL'));
  await waitHealthy(again);
  await until(() => ehr.received.length === 1, 30_000, 'the queued ORU after the restart');
  const impression = (await readWithPythonHl7(ehr.received[0]!.toString(), [])).obx.at(-2)?.value;
  t.is(impression, 'Normal CT of the head.', 'the dictated impression reached the EHR');
  const after = await readWithPythonHl7(ehr.received[0]!.toString(), ['OBR.F25', 'OBR.F2.R1.C1']);
  t.like(after.fields, { 'OBR.F25': 'F', 'OBR.F2.R1.C1': 'VG-R-2' });
  await until(
    async () => (await reportDeliveries(again)).every((d) => d.state === 'sent'),
    30_000,
    'every report delivery recorded as sent',
  );
  t.is(fhir.reports.length, 2, 'one DiagnosticReport per report, however often sent');
  // The facility's completed list says where each report went, per way out.
  const completed = (await (await api(again, '/api/facilities/VALLEYGEN/completed')).json()) as Array<{
    reportDeliveries: Array<{ channelId: string; destination: string; state: string }>;
  }>;
  t.is(completed.length, 2);
  for (const exam of completed) {
    t.deepEqual(exam.reportDeliveries.map((d) => `${d.channelId}/${d.destination}: ${d.state}`).sort(), [
      'reports-to-ehr/ehr-fhir: sent',
      'reports-to-ehr/ehr-hl7: sent',
    ]);
  }
  t.is(await stopHub(again), 0);
});
