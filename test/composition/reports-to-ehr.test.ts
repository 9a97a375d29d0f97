// The sample report channel (config/channels/reports-to-ehr.json) on a real engine: a report.issued event goes to
// the report's facility's EHR as ORU^R01 over MLLP and as a DiagnosticReport over FHIR, through durable queues.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ChannelEngine } from '../../channels/engine.ts';
import { hubRegistry } from '../../composition/connectors.ts';
import { openTestHub, quietLog, repoRoot } from '../exams/setup.ts';
import { MllpTestListener } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { freePort } from '../support/hub-process.ts';
import { FhirReportReceiver } from '../support/fhir-report-receiver.ts';
import { readWithPythonHl7 } from '../support/python-hl7.ts';
import { issueReport, orderExam } from '../support/report-seeding.ts';

async function sampleChannel() {
  const file = path.join(repoRoot, 'config', 'channels', 'reports-to-ehr.json');
  const channel = JSON.parse(await readFile(file, 'utf8')) as {
    source: { settings: Record<string, unknown> };
    destinations: Array<{ connector: { type: string; settings: Record<string, unknown> }; retry: unknown }>;
  };
  channel.source.settings['pollMs'] = 20;
  for (const destination of channel.destinations) {
    destination.retry = { initialDelayMs: 50, maxDelayMs: 200, multiplier: 2 };
    const quick =
      destination.connector.type === 'report-oru'
        ? { connectTimeoutMs: 1000, ackTimeoutMs: 2000 }
        : { timeoutMs: 2000 };
    destination.connector.settings = { ...destination.connector.settings, ...quick };
  }
  return channel;
}

async function setUp(t: ExecutionContext) {
  const hub = await openTestHub(t);
  const fhir = await FhirReportReceiver.start();
  t.teardown(() => fhir.stop());
  const mllpPort = await freePort();
  const facility = await hub.exams.facilities.get('VALLEYGEN');
  await hub.exams.facilities.save({
    ...facility,
    reportDestinations: {
      ehrMllp: { host: '127.0.0.1', port: mllpPort, version: '2.5.1', includePdf: true },
      ehrFhirBaseUrl: fhir.baseUrl,
    },
  });
  const registry = hubRegistry(hub.exams);
  const engine = new ChannelEngine({ db: hub.store.db, registry, log: quietLog, pollIntervalMs: 50 });
  await engine.start();
  t.teardown(() => engine.stop());
  await engine.saveDefinition(await sampleChannel(), 'test');
  const seed = { db: hub.store.db, exams: hub.exams };
  const deliveries = async (name: string) =>
    (
      await hub.store.db.collection('messages').find({ channelId: 'reports-to-ehr' }).sort({ receivedAt: 1 }).toArray()
    ).map((m) =>
      (m['destinations'] as Array<{ name: string; state: string; response?: string }>).find((d) => d.name === name),
    );
  return { hub, fhir, mllpPort, engine, seed, deliveries };
}

test('a final report reaches the EHR both ways; its amendment follows marked corrected', async (t) => {
  const { hub, fhir, mllpPort, seed, deliveries } = await setUp(t);
  const ehr = await MllpTestListener.start(() => 'AA', mllpPort);
  t.teardown(() => ehr.stop());
  const exam = await orderExam(hub.exams, 'PL-20');
  await issueReport(seed, exam, 'rep-20', 'final', { impression: 'Normal study.' });
  await until(() => ehr.received.length === 1 && fhir.reports.length === 1, 15_000, 'the final report at both ends');
  await issueReport(seed, exam, 'rep-20', 'amended', { impression: 'Amended: small nodule.' });
  await until(
    () => ehr.received.length === 2 && fhir.reports[0]?.versionId === 2,
    15_000,
    'the amendment at both ends',
  );
  const [final, amended] = await Promise.all(
    ehr.received.map((m) => readWithPythonHl7(m.toString(), ['OBR.F25', 'OBR.F2.R1.C1'])),
  );
  t.is(final!.fields['OBR.F25'], 'F');
  t.is(amended!.fields['OBR.F25'], 'C');
  t.is(amended!.fields['OBR.F2.R1.C1'], 'PL-20');
  t.true(
    amended!.obx.some((o) => o.type === 'ED'),
    'valley general takes the PDF',
  );
  t.is(fhir.reports.length, 1);
  t.is(fhir.reports[0]!.resource.status, 'amended');
  await until(async () => (await deliveries('ehr-hl7')).every((d) => d?.state === 'sent'), 5000, 'both recorded sent');
  t.true((await deliveries('ehr-fhir')).every((d) => d?.state === 'sent'));
});

test('with the EHR down, a final amended meanwhile is not sent stale: only the correction goes out', async (t) => {
  const { hub, fhir, mllpPort, seed, deliveries } = await setUp(t);
  const exam = await orderExam(hub.exams, 'PL-21');
  await issueReport(seed, exam, 'rep-21', 'final', { impression: 'Stale impression.' });
  await until(async () => (await deliveries('ehr-hl7'))[0]?.state === 'queued', 10_000, 'the final queued for the EHR');
  await issueReport(seed, exam, 'rep-21', 'amended', { impression: 'Current impression.' });
  await until(async () => (await deliveries('ehr-hl7')).length === 2, 10_000, 'the amendment queued behind it');
  // With the EHR still down, the only way the final's delivery ends is as superseded: nothing of it went out.
  // (An attempt already under way when the amendment was written still carries the final, which is then current.)
  await until(
    async () => (await deliveries('ehr-hl7'))[0]?.state === 'sent',
    10_000,
    'the final dropped as superseded',
  );
  const ehr = await MllpTestListener.start(() => 'AA', mllpPort);
  t.teardown(() => ehr.stop());
  await until(
    async () => (await deliveries('ehr-hl7')).every((d) => d?.state === 'sent'),
    15_000,
    'both deliveries done',
  );
  t.is(ehr.received.length, 1, 'one ORU: the correction');
  const read = await readWithPythonHl7(ehr.received[0]!.toString(), ['OBR.F25']);
  t.is(read.fields['OBR.F25'], 'C');
  t.true(read.obx.some((o) => o.value === 'Current impression.'));
  t.false(read.obx.some((o) => o.value === 'Stale impression.'));
  t.regex((await deliveries('ehr-hl7'))[0]?.response ?? '', /superseded/);
  t.is(fhir.reports.length, 1);
});
