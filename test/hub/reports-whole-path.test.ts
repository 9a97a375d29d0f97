// The report path through the real hub process, as a facility sees it: an order (ORM NW) over MLLP, a final
// report on its exam, then ORU^R01 at the facility EHR's MLLP listener and the DiagnosticReport at its FHIR
// server; an amendment follows as a correction; and a hub killed (SIGKILL) between a final report and its
// delivery delivers it after the restart. Until the report service's API is on main, the report is put into
// the hub's store the way the service writes it (test/support/report-seeding.ts), from this process: the
// embedded store is safe for two processes.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Exam } from '../../exams/exam.ts';
import { openStore } from '../../store/open.ts';
import { quietLog } from '../exams/setup.ts';
import { MllpTestClient, MllpTestListener } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { FhirReportReceiver } from '../support/fhir-report-receiver.ts';
import { api, freePort, repoRoot, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { readWithPythonHl7 } from '../support/python-hl7.ts';
import { issueReport } from '../support/report-seeding.ts';

const sample = async (...parts: string[]) =>
  JSON.parse(await readFile(path.join(repoRoot, 'config', ...parts), 'utf8')) as Record<string, unknown> & {
    id: string;
    code: string;
  };

/** The sample channels, with the orders source on `ordersPort`, no RIS copy, and quick retries. */
async function channels(ordersPort: number) {
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
  return [orders, reports];
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

async function examOf(hub: HubProcess, placer: string): Promise<Exam> {
  const store = await openStore({ dataDir: hub.dataDir, log: quietLog });
  try {
    let exam: Exam | null = null;
    await until(
      async () => {
        exam = await store.db.collection<Exam>('exams').findOne({ 'identifiers.value': placer });
        return exam !== null;
      },
      15_000,
      `the exam of order ${placer}`,
    );
    return exam!;
  } finally {
    await store.close();
  }
}

async function issue(hub: HubProcess, exam: Exam, id: string, state: 'final' | 'amended', impression: string) {
  const store = await openStore({ dataDir: hub.dataDir, log: quietLog });
  try {
    await issueReport({ dataDir: hub.dataDir, db: store.db }, exam, id, state, { impression });
  } finally {
    await store.close();
  }
}

async function reportDeliveries(hub: HubProcess) {
  const page = (await (await api(hub, '/api/messages?channelId=reports-to-ehr&limit=100')).json()) as {
    items: Array<{ destinations: Array<{ name: string; state: string; attempts: number }> }>;
  };
  return page.items.flatMap((m) => m.destinations);
}

test('order in, final report out as ORU^R01 and DiagnosticReport, amendment as correction, SIGKILL loses nothing', async (t) => {
  const [ordersPort, ehrPort] = [await freePort(), await freePort()];
  const fhir = await FhirReportReceiver.start();
  t.teardown(() => fhir.stop());
  const options = { channels: await channels(ordersPort), facilities: [await facility(ehrPort, fhir.baseUrl)] };
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

  await issue(hub, exam, 'rep-w1', 'final', 'No acute findings.');
  await until(() => ehr.received.length === 1 && fhir.reports.length === 1, 30_000, 'the final at the EHR');
  const final = await readWithPythonHl7(ehr.received[0]!.toString(), ['OBR.F25', 'OBR.F2.R1.C1', 'OBR.F18', 'MSH.F12']);
  t.like(final.fields, { 'OBR.F25': 'F', 'OBR.F2.R1.C1': 'VG-R-1', 'OBR.F18': 'ACC-VG-R-1', 'MSH.F12': '2.5.1' });
  t.true(final.obx.some((o) => o.type === 'ED'));
  t.is(fhir.reports[0]!.resource.status, 'final');

  await issue(hub, exam, 'rep-w1', 'amended', 'Amended: small left pleural effusion.');
  await until(() => ehr.received.length === 2 && fhir.reports[0]?.versionId === 2, 30_000, 'the amendment');
  const amended = await readWithPythonHl7(ehr.received[1]!.toString(), ['OBR.F25']);
  t.is(amended.fields['OBR.F25'], 'C');
  t.true(amended.obx.some((o) => o.value === 'Amended: small left pleural effusion.'));
  t.is(fhir.reports.length, 1);
  t.is(fhir.reports[0]!.resource.status, 'amended');

  // The EHR goes down; a final report is queued for it; the hub is killed before it could deliver.
  await ehr.stop();
  const second = await examOf(hub, 'VG-R-2');
  await issue(hub, second, 'rep-w2', 'final', 'Second exam: normal.');
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
  const after = await readWithPythonHl7(ehr.received[0]!.toString(), ['OBR.F25', 'OBR.F2.R1.C1']);
  t.like(after.fields, { 'OBR.F25': 'F', 'OBR.F2.R1.C1': 'VG-R-2' });
  await until(
    async () => (await reportDeliveries(again)).every((d) => d.state === 'sent'),
    30_000,
    'every report delivery recorded as sent',
  );
  t.is(fhir.reports.length, 2, 'one DiagnosticReport per report, however often sent');
  t.is(await stopHub(again), 0);
});
