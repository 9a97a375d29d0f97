// Reports by e-mail and fax: a report.issued message on a channel with the report-email and report-fax
// destinations sends the report's document (read from the data dir, checked against its SHA-256) to the
// facility's reportDestinations.email through a real SMTP server and to its .fax through a SOAP fax gateway built
// from the shipped WSDL. The PDF arrives byte for byte both ways; no patient data is in the subject or cover.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { ChannelEngine } from '../../channels/engine.ts';
import { hubRegistry } from '../../composition/connectors.ts';
import { openGateways } from '../../composition/gateways.ts';
import { ReportLinks } from '../../composition/report-links.ts';
import { createReportLinkRouter } from '../../composition/report-link-route.ts';
import { AuditLog } from '../../admin-ui/audit.ts';
import { HttpServer } from '../../http/server.ts';
import { textPdf } from '../../fax/text-pdf.ts';
import { Scheduler } from '../../runtime/scheduler.ts';
import { TestPeers, channelJson, jsonMessage, quietLog, waitFor } from '../channels/harness.ts';
import { ExamService } from '../../exams/service.ts';
import { openStore } from '../../store/open.ts';
import { facilitiesDir } from '../exams/setup.ts';
import { faxGateway, wsdlPath } from '../fax/fax-gateway.ts';

async function mailbox(t: ExecutionContext) {
  const mails: Array<{ to: string[]; parsed: ParsedMail }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), parsed });
        callback();
      }, callback);
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as { port: number }).port, mails };
}

async function setup(t: ExecutionContext, options: { linkBaseUrl?: boolean } = {}) {
  const box = await mailbox(t);
  const gateway = await faxGateway(t, {});
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rso-report-delivery-'));
  const store = await openStore({ dataDir, log: quietLog });
  // The report service reads documents under its data dir (exams/report-files.ts).
  const exams = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000, dataDir });
  await exams.start();
  await exams.facilities.loadDir(facilitiesDir);
  const scheduler = new Scheduler({ db: store.db, log: quietLog, processEveryMs: 20, defaultLockLifetimeMs: 2000 });
  const gateways = openGateways(store.db, scheduler, exams, quietLog, new ReportLinks(dataDir));
  await scheduler.start();
  const peers = new TestPeers();
  const registry = hubRegistry(exams, { gateways });
  registry.addSource(peers.sourceType());
  const engine = new ChannelEngine({ db: store.db, registry, log: quietLog, pollIntervalMs: 50, leaseMs: 2000 });
  await engine.start();
  t.teardown(async () => {
    await engine.stop();
    await scheduler.stop();
    await exams.stop();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const retry = { initialDelayMs: 20, maxDelayMs: 100, multiplier: 2 };
  await engine.saveDefinition(
    channelJson('reports', [
      {
        name: 'email',
        connector: {
          type: 'report-email',
          settings: {
            gateway: { host: '127.0.0.1', port: box.port, security: 'none', from: 'reports@rso.example' },
            ...(options.linkBaseUrl === false ? {} : { linkBaseUrl: 'https://hub.rso.example/' }),
          },
        },
        queue: 'unordered',
        retry,
        maxAttempts: 5,
      },
      {
        name: 'fax',
        connector: {
          type: 'report-fax',
          settings: { gateway: { wsdl: wsdlPath, endpoint: gateway.endpoint, pollIntervalMs: 30 } },
        },
        queue: 'unordered',
        retry,
        maxAttempts: 5,
      },
    ]),
  );
  const issue = async (reportId: string) => {
    const outcome = await peers.receive(
      'reports',
      jsonMessage({
        type: 'report.issued',
        examNumber: 'RSO-2026-000042',
        facility: 'VALLEYGEN',
        data: { reportId, state: 'final', from: 'preliminary' },
      }),
    );
    if (outcome.status !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(outcome)}`);
    const deliveries = async () => (await engine.getMessage(outcome.messageId))?.destinations ?? [];
    await waitFor('both deliveries to settle', async () =>
      (await deliveries()).every((d) => d.state === 'sent' || d.state === 'error'),
    );
    return deliveries();
  };
  /** A stored report whose document is `bytes`, written where reports-core keeps it; `tamper` changes the file. */
  const storeReport = async (reportId: string, bytes: Buffer, tamper = false) => {
    const relative = path.join('reports', reportId, 'rendered-1.pdf');
    await mkdir(path.join(dataDir, 'reports', reportId), { recursive: true });
    await writeFile(path.join(dataDir, relative), tamper ? Buffer.concat([bytes, Buffer.from('x')]) : bytes);
    await store.db.collection<{ _id: string } & Record<string, unknown>>('reports').insertOne({
      _id: reportId,
      examNumber: 'RSO-2026-000042',
      facility: 'VALLEYGEN',
      patientId: 'patient-1',
      state: 'final',
      findings: 'No acute findings.',
      identifiers: [],
      attachments: [
        {
          id: 'rendered-1.pdf',
          contentType: 'application/pdf',
          title: 'Signed report',
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          path: relative,
          rendered: true,
          createdAt: new Date().toISOString(),
        },
      ],
      documentId: 'rendered-1.pdf',
      version: 1,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      history: [],
    });
  };
  return { box, gateway, issue, storeReport, exams, store, dataDir };
}

test("a final report's PDF reaches the facility's e-mail address and fax number byte for byte", async (t) => {
  const hub = await setup(t);
  const pdf = await textPdf('Radiology report', 'Findings: no acute findings.\nImpression: normal.');
  await hub.storeReport('rep-1', pdf);
  const [email, fax] = await hub.issue('rep-1');
  t.is(email?.state, 'sent');
  t.is(fax?.state, 'sent');
  t.is(fax?.response, 'fax job job-1: delivered');
  t.is(hub.box.mails.length, 1);
  const mail = hub.box.mails[0]!;
  t.deepEqual(mail.to, ['radiology-reports@valleygeneral.example']);
  t.is(mail.parsed.subject, 'Radiology report from RSO');
  t.regex(mail.parsed.text ?? '', /final radiology report for exam RSO-2026-000042 at Valley General is attached/);
  t.is(mail.parsed.attachments[0]?.filename, 'report-RSO-2026-000042.pdf');
  t.true(mail.parsed.attachments[0]?.content.equals(pdf), 'the e-mailed PDF is the document, byte for byte');
  t.is(hub.gateway.faxes.length, 1);
  t.is(hub.gateway.faxes[0]!.recipient, '+15555550199');
  t.is(hub.gateway.faxes[0]!.coverText, 'Radiology report (final) for exam RSO-2026-000042, Valley General.');
  t.true(hub.gateway.faxes[0]!.document.equals(pdf), 'the faxed PDF is the document, byte for byte');
});

test('a document that does not match its record is never sent: both deliveries fail naming the file', async (t) => {
  const hub = await setup(t);
  await hub.storeReport('rep-2', await textPdf('Radiology report', 'x'), true);
  const deliveries = await hub.issue('rep-2');
  for (const delivery of deliveries) {
    t.is(delivery.state, 'error');
    t.regex(delivery.lastError ?? '', /rendered-1\.pdf does not match its record/);
  }
  t.is(hub.box.mails.length, 0);
  t.is(hub.gateway.faxes.length, 0);
});

test('a facility that takes links is e-mailed a signed link instead of the PDF; the hub serves it without an account, refuses a forged one (403) and an expired one (410), and audits each use', async (t) => {
  const hub = await setup(t);
  const valley = await hub.exams.facilities.require('VALLEYGEN');
  await hub.exams.facilities.save({
    ...valley,
    reportDestinations: { ...valley.reportDestinations, emailLink: { validHours: 48 } },
  });
  const pdf = await textPdf('Radiology report', 'Findings: no acute findings.');
  await hub.storeReport('rep-3', pdf);
  const [email] = await hub.issue('rep-3');
  t.is(email?.state, 'sent');
  const mail = hub.box.mails[0]!;
  t.is(mail.parsed.subject, 'Radiology report from RSO');
  t.is(mail.parsed.attachments.length, 0, 'no PDF travels with a link');
  const text = mail.parsed.text ?? '';
  t.regex(text, /report for exam RSO-2026-000042 at Valley General is not attached: a link to it is enclosed/);
  const link = /https:\/\/hub\.rso\.example\/links\/reports\/(\S+)/.exec(text);
  t.truthy(link, text);

  const links = new ReportLinks(hub.dataDir);
  const audit = new AuditLog(hub.store.db);
  await audit.open();
  const http = new HttpServer({ host: '127.0.0.1', port: 0, log: quietLog });
  http.mount(createReportLinkRouter({ exams: hub.exams, links, audit, log: quietLog }));
  await http.start();
  t.teardown(() => http.stop());
  const open = (token: string) => fetch(`http://127.0.0.1:${http.port}/links/reports/${token}`);

  const served = await open(link![1]!);
  t.is(served.status, 200);
  t.is(served.headers.get('content-type'), 'application/pdf');
  t.is(served.headers.get('cache-control'), 'no-store');
  t.true(Buffer.from(await served.arrayBuffer()).equals(pdf), 'the linked PDF is the document, byte for byte');

  const [body, signature] = link![1]!.split('.');
  const forged = Buffer.from(JSON.stringify({ r: 'rep-3', e: 4_102_444_800 })).toString('base64url');
  t.is((await open(`${forged}.${signature}`)).status, 403);
  t.is((await open(`${body}.${'A'.repeat(43)}`)).status, 403);
  t.is((await open('not-a-token')).status, 403);

  const expired = await open(await links.sign('rep-3', new Date(Date.now() - 1000)));
  t.is(expired.status, 410);
  t.regex(await expired.text(), /This link expired at/);

  const trail = await audit.page({ action: 'report.link.', limit: 10 });
  t.deepEqual(trail.items.map((e) => [e.action, e.target, e.detail?.['reason'] ?? e.detail?.['state']]).reverse(), [
    ['report.link.open', 'report:rep-3', 'final'],
    ['report.link.refused', 'report:unknown', 'bad signature'],
    ['report.link.refused', 'report:unknown', 'bad signature'],
    ['report.link.refused', 'report:unknown', 'bad signature'],
    ['report.link.refused', 'report:rep-3', 'expired'],
  ]);
});

test('a facility that takes links is not sent a link by a destination without linkBaseUrl: failed, saying so', async (t) => {
  const hub = await setup(t, { linkBaseUrl: false });
  const valley = await hub.exams.facilities.require('VALLEYGEN');
  await hub.exams.facilities.save({
    ...valley,
    reportDestinations: { ...valley.reportDestinations, emailLink: { validHours: 1 } },
  });
  await hub.storeReport('rep-4', await textPdf('Radiology report', 'x'));
  const [email] = await hub.issue('rep-4');
  t.is(email?.state, 'error');
  t.regex(email?.lastError ?? '', /VALLEYGEN takes report links, but this destination has no linkBaseUrl/);
  t.is(hub.box.mails.length, 0);
});
