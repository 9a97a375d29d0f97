import test, { type ExecutionContext } from 'ava';
import type { Exam } from '../../exams/exam.ts';
import { reportReaderOf } from '../../composition/reports-out.ts';
import { reportPushDestinationType } from '../../fhir/report-push-destination.ts';
import { openTestHub, quietLog } from '../exams/setup.ts';
import { FhirReportReceiver, type ReceiverOptions } from '../support/fhir-report-receiver.ts';
import { issueReport, orderExam, reportIdOf } from '../support/report-seeding.ts';

async function setUp(t: ExecutionContext, options: ReceiverOptions = {}, auth?: Record<string, unknown>) {
  const hub = await openTestHub(t);
  const ehr = await FhirReportReceiver.start(options);
  t.teardown(() => ehr.stop());
  const facility = await hub.exams.facilities.get('VALLEYGEN');
  const ehrFhirAuth =
    auth === undefined
      ? {}
      : { ehrFhirAuth: { ...auth, ...(auth['type'] === 'client-credentials' ? { tokenUrl: ehr.tokenUrl } : {}) } };
  await hub.exams.facilities.save({ ...facility, reportDestinations: { ehrFhirBaseUrl: ehr.baseUrl, ...ehrFhirAuth } });
  const type = reportPushDestinationType({
    exams: hub.exams,
    reports: reportReaderOf(hub.exams),
  });
  const destination = type.create(type.parseSettings({ timeoutMs: 5000 }, 'settings'), {
    channelId: 'reports-to-ehr',
    destinationName: 'ehr-fhir',
    log: quietLog,
  });
  t.teardown(() => destination.stop());
  const seed = { db: hub.store.db, exams: hub.exams };
  let n = 0;
  const send = (event: unknown) =>
    destination.send({
      messageId: `m-${++n}`,
      channelId: 'reports-to-ehr',
      destinationName: 'ehr-fhir',
      content: JSON.stringify(event),
      dataType: 'json',
      attempt: 1,
    });
  const deliver = async (exam: Exam, id: string, state: 'preliminary' | 'final' | 'amended', impression?: string) =>
    send(await issueReport(seed, exam, id, state, impression === undefined ? {} : { impression }));
  return { hub, ehr, send, deliver, seed };
}

test('a final report is created at the EHR as a valid DiagnosticReport with its PDF; the amendment updates the same one', async (t) => {
  const { hub, ehr, deliver, seed } = await setUp(t);
  const exam = await orderExam(hub.exams, 'PL-10');
  const created = await deliver(exam, 'rep-10', 'final', 'First impression.');
  t.is(created.status, 'sent');
  t.regex(created.status === 'sent' ? (created.response ?? '') : '', /^HTTP 201 /);
  t.is(ehr.reports.length, 1);
  const first = ehr.reports[0]!.resource;
  t.is(first.status, 'final');
  t.is(first.conclusion, 'First impression.');
  const id = reportIdOf(seed, 'rep-10');
  t.deepEqual(first.identifier?.[0], { system: 'urn:rso-hub:report-id', value: id });
  t.is(first.subject?.identifier?.value, 'MRN-PL-10');
  t.is(first.basedOn?.[0]?.identifier?.value, 'PL-10');
  t.is(first.presentedForm?.[0]?.contentType, 'application/pdf');
  const { bytes } = await hub.exams.reports.document(id);
  t.deepEqual(Buffer.from(first.presentedForm?.[0]?.data ?? '', 'base64'), Buffer.from(bytes));

  const amended = await deliver(exam, 'rep-10', 'amended', 'Corrected impression.');
  t.regex(amended.status === 'sent' ? (amended.response ?? '') : '', /^HTTP 200 /);
  t.is(ehr.reports.length, 1, 'the amendment updates the report it corrects');
  t.is(ehr.reports[0]!.resource.status, 'amended');
  t.is(ehr.reports[0]!.resource.conclusion, 'Corrected impression.');
  t.is(ehr.reports[0]!.versionId, 2);
});

test('a resend after a lost answer makes no second report at the EHR', async (t) => {
  const { hub, ehr, seed, send } = await setUp(t);
  const exam = await orderExam(hub.exams, 'PL-11');
  const event = await issueReport(seed, exam, 'rep-11', 'final');
  ehr.loseNextAnswer = true;
  const lost = await send(event);
  t.is(lost.status, 'retry', 'no answer is a retry');
  t.is(ehr.reports.length, 1, 'yet the server stored it');
  const resent = await send(event);
  t.is(resent.status, 'sent');
  t.is(ehr.reports.length, 1);
  t.is(ehr.reports[0]!.versionId, 2);
});

test('a 4xx fails for good with the OperationOutcome kept; a 5xx is retried', async (t) => {
  const { hub, ehr, seed, send } = await setUp(t);
  const exam = await orderExam(hub.exams, 'PL-12');
  const event = await issueReport(seed, exam, 'rep-12', 'final');
  ehr.failNext = {
    status: 422,
    outcome: {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'business-rule', diagnostics: 'unknown patient MRN-PL-12' }],
    },
  };
  const refused = await send(event);
  t.is(refused.status, 'failed');
  t.regex(refused.response ?? '', /^HTTP 422\n/);
  t.is(
    (JSON.parse((refused.response ?? '').split('\n').slice(1).join('\n')) as { issue: Array<{ diagnostics: string }> })
      .issue[0]!.diagnostics,
    'unknown patient MRN-PL-12',
  );
  ehr.failNext = {
    status: 503,
    outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] },
  };
  t.is((await send(event)).status, 'retry');
  t.is((await send(event)).status, 'sent');
  t.is(ehr.reports.length, 1);
});

test('a bearer token comes from the environment variable the facility names, and is never in an error', async (t) => {
  const variable = `RSO_TEST_EHR_TOKEN_${process.pid}`;
  const { hub, ehr, seed, send } = await setUp(t, { token: 'pa55-w0rd-xyz' }, { type: 'bearer', tokenEnv: variable });
  const exam = await orderExam(hub.exams, 'PL-13');
  const event = await issueReport(seed, exam, 'rep-13', 'final');
  const unset = await send(event);
  t.deepEqual(unset, { status: 'retry', error: `environment variable ${variable} is not set` });
  process.env[variable] = 'wrong-token';
  const wrong = await send(event);
  t.is(wrong.status, 'failed');
  t.false(JSON.stringify(wrong).includes('wrong-token'));
  process.env[variable] = 'pa55-w0rd-xyz';
  t.teardown(() => delete process.env[variable]);
  t.is((await send(event)).status, 'sent');
  t.is(ehr.authorizations.at(-1), 'Bearer pa55-w0rd-xyz');
});

test('OAuth2 client credentials: one grant serves many pushes, a revoked token is renewed once', async (t) => {
  const ids = { id: `RSO_TEST_CLIENT_ID_${process.pid}`, secret: `RSO_TEST_CLIENT_SECRET_${process.pid}` };
  process.env[ids.id] = 'rso-hub';
  process.env[ids.secret] = 's3cr3t:with/odd&chars';
  t.teardown(() => {
    delete process.env[ids.id];
    delete process.env[ids.secret];
  });
  const { hub, ehr, deliver } = await setUp(
    t,
    { client: { id: 'rso-hub', secret: 's3cr3t%3Awith%2Fodd%26chars' } },
    {
      type: 'client-credentials',
      clientIdEnv: ids.id,
      clientSecretEnv: ids.secret,
      scope: 'system/DiagnosticReport.write',
    },
  );
  const exam = await orderExam(hub.exams, 'PL-14');
  t.is((await deliver(exam, 'rep-14', 'preliminary')).status, 'sent');
  t.is((await deliver(exam, 'rep-14', 'final')).status, 'sent');
  t.is(ehr.grants, 1);
  ehr.revokeTokens();
  t.is((await deliver(exam, 'rep-14', 'amended')).status, 'sent');
  t.is(ehr.grants, 2);
  t.is(ehr.reports.length, 1);
  t.is(ehr.reports[0]!.resource.status, 'amended');
});
