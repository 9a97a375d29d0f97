// Dictated reports (ORU^R01) over MLLP into the report service, on a real engine with a real MLLP socket: the order
// is found by its numbers, the report is signed, corrected, or carries the dictation's PDF; an unknown order opens
// an exam on the exception list; a message without OBR or with an ED that is not base64 is answered AR/AE with ERR.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ChannelEngine } from '../../channels/engine.ts';
import { hubRegistry } from '../../composition/connectors.ts';
import { renderReportPdfFile } from '../../documents/report-pdf-file.ts';
import { openTestHub, quietLog } from '../exams/setup.ts';
import { until } from '../support/channels.ts';
import { freePort } from '../support/hub-process.ts';
import { orderExam } from '../support/report-seeding.ts';
import { fixtures, MllpTestClient } from './mllp-peer.ts';

const corpus = (name: string) => readFile(path.join(fixtures, 'corpus', 'results', name));

async function setUp(t: ExecutionContext) {
  const hub = await openTestHub(t);
  hub.exams.reports.renderWith(renderReportPdfFile);
  const engine = new ChannelEngine({
    db: hub.store.db,
    registry: hubRegistry(hub.exams),
    log: quietLog,
    pollIntervalMs: 50,
  });
  await engine.start();
  t.teardown(() => engine.stop());
  const port = await freePort();
  await engine.saveDefinition(
    {
      id: 'dictation',
      name: 'Dictated reports in',
      enabled: true,
      source: { type: 'mllp', settings: { host: '127.0.0.1', port } },
      destinations: [
        {
          name: 'reports',
          connector: { type: 'rso-reports', settings: { timeZone: 'America/New_York' } },
          queue: 'ordered',
          retry: { initialDelayMs: 50, maxDelayMs: 200, multiplier: 2 },
          maxAttempts: 3,
        },
      ],
    },
    'test',
  );
  const client = await MllpTestClient.connect(port);
  t.teardown(() => client.close());
  const reportsOf = (examNumber: string) => hub.exams.reports.listByExam(examNumber);
  return { hub, client, reportsOf };
}

test('an F then a C for a known order make a signed report, then its amendment, with the dictated text', async (t) => {
  const { hub, client, reportsOf } = await setUp(t);
  const exam = await orderExam(hub.exams, 'VG-D-4');
  const final = Buffer.from(
    (await corpus('v23-tx-lines-final.hl7')).toString('latin1').replaceAll('VG-D-1', 'VG-D-4'),
    'latin1',
  );
  t.is((await client.exchange(final)).get('MSA-1'), 'AA');
  await until(async () => (await reportsOf(exam.examNumber))[0]?.state === 'final', 15_000, 'the final report');
  const signed = (await reportsOf(exam.examNumber))[0]!;
  t.is(signed.author?.id, 'rad-chen');
  t.is(signed.impression, 'Normal CT of the head.');
  t.is((await client.exchange(await corpus('v251-corrected.hl7'))).get('MSA-1'), 'AA');
  await until(async () => (await reportsOf(exam.examNumber))[0]?.state === 'amended', 15_000, 'the amendment');
  const amended = (await reportsOf(exam.examNumber))[0]!;
  t.is(amended.impression, 'Small left subdural haematoma.');
  t.is((await reportsOf(exam.examNumber)).length, 1, 'one report, amended in place');
});

test("the dictation's PDF is kept as the report's document", async (t) => {
  const { hub, client, reportsOf } = await setUp(t);
  const exam = await orderExam(hub.exams, 'VG-D-5');
  t.is((await client.exchange(await corpus('v251-ed-pdf-with-text.hl7'))).get('MSA-1'), 'AA');
  await until(async () => (await reportsOf(exam.examNumber))[0]?.state === 'final', 15_000, 'the final report');
  const report = await hub.exams.reports.require((await reportsOf(exam.examNumber))[0]!._id);
  const document = report.attachments.find((a) => a.id === report.documentId);
  t.is(document?.rendered, false, 'the scan as it came, not a rendering');
  const { bytes } = await hub.exams.reports.document(report._id);
  t.is(Buffer.from(bytes).subarray(0, 5).toString('latin1'), '%PDF-');
});

test('an ORU for an unknown order is ACKed and opens an exam on the exception list with the reason', async (t) => {
  const { hub, client, reportsOf } = await setUp(t);
  t.is((await client.exchange(await corpus('v24-impression-by-text.hl7'))).get('MSA-1'), 'AA');
  let exam: Awaited<ReturnType<typeof hub.exams.findByIdentifier>>;
  await until(
    async () => {
      exam = await hub.exams.findByIdentifier('VALLEYGEN', 'placer', 'VG-D-10');
      return exam !== undefined;
    },
    15_000,
    'the exception exam',
  );
  t.regex(exam!.exception?.reason ?? '', /does not know \(placer 'VG-D-10'\)/);
  const listed = await hub.exams.lists.exceptions('VALLEYGEN');
  t.true(listed.some((e) => e.examNumber === exam!.examNumber));
  await until(async () => (await reportsOf(exam!.examNumber)).length === 1, 15_000, 'the report filed on it');
  t.is((await reportsOf(exam!.examNumber))[0]!.impression, 'Normal abdominal ultrasound.');
});

test('no OBR is answered AR, an ED that is not base64 AE, each with an ERR naming where', async (t) => {
  const { client } = await setUp(t);
  const noObr = await client.exchange(await corpus('bad-no-obr.hl7'));
  t.is(noObr.get('MSA-1'), 'AR');
  t.is(noObr.get('ERR-2.1'), 'OBR');
  t.is(noObr.get('ERR-3.1'), '100');
  const badEd = await client.exchange(await corpus('bad-ed-not-base64.hl7'));
  t.is(badEd.get('MSA-1'), 'AE');
  t.regex(badEd.get('ERR-8') ?? badEd.get('MSA-3') ?? '', /not base64/);
});
