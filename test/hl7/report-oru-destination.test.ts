import test, { type ExecutionContext } from 'ava';
import { reportReaderOf } from '../../composition/reports-out.ts';
import { reportOruDestinationType } from '../../hl7/report-oru-destination.ts';
import { openTestHub, quietLog } from '../exams/setup.ts';
import { readWithPythonHl7 } from '../support/python-hl7.ts';
import { issueReport, orderExam, reportIdOf } from '../support/report-seeding.ts';
import { type ListenerAnswer, MllpTestListener } from './mllp-peer.ts';

async function setUp(t: ExecutionContext, ehrMllp: Record<string, unknown> | undefined, answer: () => ListenerAnswer) {
  const hub = await openTestHub(t);
  const ehr = await MllpTestListener.start(answer);
  t.teardown(() => ehr.stop());
  const facility = await hub.exams.facilities.get('VALLEYGEN');
  await hub.exams.facilities.save({
    ...facility,
    reportDestinations: ehrMllp === undefined ? {} : { ehrMllp: { host: '127.0.0.1', port: ehr.port, ...ehrMllp } },
  });
  const type = reportOruDestinationType({ exams: hub.exams, reports: reportReaderOf(hub.exams) });
  const destination = type.create(type.parseSettings({ ackTimeoutMs: 5000, connectTimeoutMs: 2000 }, 'settings'), {
    channelId: 'reports-to-ehr',
    destinationName: 'ehr-hl7',
    log: quietLog,
  });
  t.teardown(() => destination.stop());
  const seed = { db: hub.store.db, exams: hub.exams };
  let attempt = 0;
  const deliver = async (
    exam: Awaited<ReturnType<typeof orderExam>>,
    id: string,
    state: 'preliminary' | 'final' | 'amended',
  ) => {
    const event = await issueReport(seed, exam, id, state);
    return destination.send({
      messageId: `m-${++attempt}`,
      channelId: 'reports-to-ehr',
      destinationName: 'ehr-hl7',
      content: JSON.stringify(event),
      dataType: 'json',
      attempt: 1,
    });
  };
  return { hub, ehr, destination, seed, deliver };
}

test('a final report reaches the EHR as ORU^R01 in the facility version, with the PDF, and AA delivers it', async (t) => {
  const { hub, ehr, deliver, seed } = await setUp(t, { version: '2.4', includePdf: true }, () => 'AA');
  const exam = await orderExam(hub.exams, 'PL-1');
  const result = await deliver(exam, 'rep-1', 'final');
  t.is(result.status, 'sent');
  t.is(ehr.received.length, 1);
  const text = ehr.received[0]!.toString();
  const read = await readWithPythonHl7(text, ['MSH.F12', 'OBR.F2.R1.C1', 'OBR.F18', 'OBR.F25', 'PID.F3.R1.C1']);
  t.is(read.fields['MSH.F12'], '2.4');
  t.is(read.fields['OBR.F2.R1.C1'], 'PL-1');
  t.is(read.fields['OBR.F18'], 'ACC-PL-1');
  t.is(read.fields['OBR.F25'], 'F');
  t.is(read.fields['PID.F3.R1.C1'], 'MRN-PL-1');
  const ed = read.obx.find((o) => o.type === 'ED');
  t.truthy(ed, 'the PDF is in an OBX ED');
  const { bytes } = await hub.exams.reports.document(reportIdOf(seed, 'rep-1'));
  t.deepEqual(Buffer.from(ed!.value.split('^')[4]!, 'base64'), Buffer.from(bytes), 'the rendered PDF, byte for byte');
});

test('AE from the EHR is a retry, AR a failure for good, as the mllp destination answers them', async (t) => {
  const answers: ListenerAnswer[] = ['AE', 'AR'];
  const { hub, deliver } = await setUp(t, {}, () => answers.shift() ?? 'AA');
  const exam = await orderExam(hub.exams, 'PL-2');
  const first = await deliver(exam, 'rep-2', 'preliminary');
  t.is(first.status, 'retry');
  const second = await deliver(exam, 'rep-2', 'final');
  t.is(second.status, 'failed');
  t.regex(second.status === 'failed' ? second.error : '', /rejected/);
});

test('a final superseded by an amendment is not resent; the amendment goes out marked corrected', async (t) => {
  const { hub, ehr, destination, seed } = await setUp(t, {}, () => 'AA');
  const exam = await orderExam(hub.exams, 'PL-3');
  const final = await issueReport(seed, exam, 'rep-3', 'final', { impression: 'Old impression.' });
  const amended = await issueReport(seed, exam, 'rep-3', 'amended', { impression: 'Corrected impression.' });
  const send = (content: unknown, messageId: string) =>
    destination.send({
      messageId,
      channelId: 'c',
      destinationName: 'd',
      content: JSON.stringify(content),
      dataType: 'json',
      attempt: 1,
    });
  const stale = await send(final, 'm-final');
  t.is(stale.status, 'sent');
  t.regex(stale.status === 'sent' ? (stale.response ?? '') : '', /superseded/);
  t.is(ehr.received.length, 0, 'nothing of the stale final went out');
  t.is((await send(amended, 'm-amended')).status, 'sent');
  t.is(ehr.received.length, 1);
  const read = await readWithPythonHl7(ehr.received[0]!.toString(), ['OBR.F25']);
  t.is(read.fields['OBR.F25'], 'C');
  t.true(read.obx.some((o) => o.value === 'Corrected impression.'));
  t.false(read.obx.some((o) => o.value === 'Old impression.'));
});

test('a facility without an MLLP EHR gets nothing, recorded as such; a broken event fails with its reason', async (t) => {
  const { hub, ehr, destination, deliver } = await setUp(t, undefined, () => 'AA');
  const exam = await orderExam(hub.exams, 'PL-4');
  const result = await deliver(exam, 'rep-4', 'final');
  t.deepEqual(result, { status: 'sent', response: 'not sent: facility VALLEYGEN has no ehrMllp' });
  t.is(ehr.received.length, 0);
  const broken = await destination.send({
    messageId: 'x',
    channelId: 'c',
    destinationName: 'd',
    content: JSON.stringify({ type: 'report.issued', data: { reportId: 'nope', state: 'final' } }),
    dataType: 'json',
    attempt: 1,
  });
  t.deepEqual(broken, { status: 'failed', error: 'report nope is not in the store' });
});

test('a run of the queue head goes out in order, past a superseded event, and stops at the first AE', async (t) => {
  let answered = 0;
  // The 22nd ORU to arrive (of the second run) is answered AE; every other AA.
  const { hub, ehr, destination, seed } = await setUp(t, {}, () => (++answered === 22 ? 'AE' : 'AA'));
  const events: unknown[] = [];
  for (let i = 0; i < 20; i++) {
    const exam = await orderExam(hub.exams, `RUN-${i}`);
    events.push(await issueReport(seed, exam, `run-${i}`, 'final'));
    // The final of exam 5 is superseded by its amendment, which comes last in the run.
    if (i === 5) await issueReport(seed, exam, `run-${i}`, 'amended').then((e) => events.push(e));
  }
  const superseded = 5;
  const amendment = 6;
  const messages = events.map((event, i) => ({
    messageId: `run-m-${i}`,
    channelId: 'reports-to-ehr',
    destinationName: 'ehr-hl7',
    content: JSON.stringify(event),
    dataType: 'json',
    attempt: 1,
  }));
  const results: Array<[number, string]> = [];
  await destination.sendSequence!(messages, (index, result) => results.push([index, result.status]));
  t.deepEqual(
    results.map(([index]) => index),
    messages.map((_m, i) => i),
    'one result per message, in order (more than one chunk)',
  );
  t.true(results.every(([, status]) => status === 'sent'));
  const placers = ehr.received.map((m) => /\rOBR\|[^|]*\|([^|^]*)/.exec(m.toString())?.[1]);
  const expected = messages.map((_m, i) => (i <= superseded ? `RUN-${i}` : `RUN-${i - 1}`));
  expected.splice(superseded, 1);
  t.deepEqual(placers, expected, 'the stale final did not go out; the rest went in queue order');
  t.is(ehr.received.length, 20);
  const again: Array<[number, string]> = [];
  await destination.sendSequence!(messages.slice(amendment), (index, result) => again.push([index, result.status]));
  t.deepEqual(again, [
    [0, 'sent'],
    [1, 'retry'],
  ]);
  t.is(ehr.received.length, 22, 'nothing after the AE was sent');
});
