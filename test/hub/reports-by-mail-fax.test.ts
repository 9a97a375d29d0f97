// Reports to a facility without an EHR interface, through a running hub: an order over MLLP, a report drafted and
// signed over the API, and the sample channel reports-by-mail-fax sends the signed report's PDF to the facility's
// e-mail address (a real SMTP server) and fax number (a SOAP fax gateway from the shipped WSDL); an amendment goes
// out again. The PDF that arrives is the report's document, byte for byte; a preliminary report goes nowhere.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { faxGateway, wsdlPath } from '../fax/fax-gateway.ts';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { api, freePort, repoRoot, startHub, stopHub, type HubProcess, waitHealthy } from '../support/hub-process.ts';

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

const json = async (file: string) => JSON.parse(await readFile(path.join(repoRoot, 'config', file), 'utf8'));

async function reportsChannel(smtpPort: number, faxEndpoint: string) {
  const channel = await json('channels/reports-by-mail-fax.json');
  const fast = { initialDelayMs: 100, maxDelayMs: 500, multiplier: 2 };
  for (const destination of channel.destinations) {
    const gateway = destination.connector.settings.gateway;
    if (destination.name === 'email') gateway.port = smtpPort;
    if (destination.name === 'fax')
      Object.assign(gateway, { endpoint: faxEndpoint, wsdl: wsdlPath, pollIntervalMs: 50 });
    destination.retry = fast;
  }
  channel.source.settings.pollMs = 50;
  return channel;
}

function orm(placer: string): Buffer {
  const segments = [
    `MSH|^~\\&|EPIC|VALLEYGEN|RSO_HUB|RSO|20240611100000-0400||ORM^O01|${placer}|P|2.4`,
    'PID|1||V300400^^^VALLEYGEN^MR||OBRIEN^MARY^ANN^^^^L||19800229|F',
    'PV1|1|O',
    `ORC|NW|${placer}|||||^^^20240611113000^^R`,
    `OBR|1|${placer}||71260^CT CHEST W CONTRAST^CPT4||||||||||||||||||||CT`,
  ];
  return Buffer.from(`${segments.join('\r')}\r`, 'latin1');
}

async function call(hub: HubProcess, pathname: string, body: unknown, expected: number) {
  const response = await api(hub, pathname, { method: 'POST', body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${pathname}: ${response.status} ${text}`);
  return JSON.parse(text) as { _id: string; version: number };
}

test('a signed report and its amendment reach the facility by e-mail and fax as the same PDF', async (t) => {
  const box = await mailbox(t);
  const gateway = await faxGateway(t, {});
  const mllpPort = await freePort();
  const orders = {
    id: 'valley-orders',
    name: 'Valley orders',
    enabled: true,
    source: { type: 'mllp', settings: { host: '127.0.0.1', port: mllpPort, messageTypes: ['ORM^O01'] } },
    destinations: [
      { name: 'exams', connector: { type: 'rso-exams', settings: { timeZone: 'America/New_York' } }, queue: 'ordered' },
    ],
  };
  const hub = await startHub({
    channels: [orders, await reportsChannel(box.port, gateway.endpoint)],
    facilities: [await json('facilities/valley-general.json')],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(mllpPort);
  t.teardown(() => void client.close());
  await client.exchange(orm('VG-REP-1'));
  let examNumber: string | undefined;
  await until(
    async () => {
      const list = (await (await api(hub, '/api/facilities/VALLEYGEN/active')).json()) as Array<{
        examNumber: string;
      }>;
      examNumber = list[0]?.examNumber;
      return examNumber !== undefined;
    },
    20_000,
    'the exam',
  );

  const draft = await call(
    hub,
    `/api/exams/${examNumber}/reports`,
    { findings: 'Clear lungs.', impression: 'Normal.' },
    201,
  );
  await call(hub, `/api/reports/${draft._id}/preliminary`, { author: 'rad-chen' }, 200);
  await call(hub, `/api/reports/${draft._id}/sign`, { author: 'rad-chen' }, 200);
  await until(() => box.mails.length >= 1 && gateway.faxes.some((f) => f.polls > 0), 30_000, 'the signed report out');
  const signedPdf = Buffer.from(await (await api(hub, `/api/reports/${draft._id}/document`)).arrayBuffer());
  t.is(signedPdf.subarray(0, 5).toString(), '%PDF-');
  t.is(box.mails.length, 1, 'the preliminary report was not sent');
  t.deepEqual(box.mails[0]!.to, ['radiology-reports@valleygeneral.example']);
  t.is(box.mails[0]!.parsed.subject, 'Radiology report from RSO');
  t.true(box.mails[0]!.parsed.attachments[0]?.content.equals(signedPdf), 'the e-mailed PDF is the signed document');
  t.is(gateway.faxes[0]!.recipient, '+15555550199');
  t.true(gateway.faxes[0]!.document.equals(signedPdf), 'the faxed PDF is the signed document');
  t.notRegex(`${box.mails[0]!.parsed.subject} ${gateway.faxes[0]!.coverText}`, /OBRIEN|MARY/);

  await call(
    hub,
    `/api/reports/${draft._id}/amend`,
    { findings: 'Clear lungs. Addendum: small nodule.', reason: 'addendum', author: 'rad-chen' },
    200,
  );
  await until(() => box.mails.length >= 2 && gateway.faxes.length >= 2, 30_000, 'the amended report out');
  const amendedPdf = Buffer.from(await (await api(hub, `/api/reports/${draft._id}/document`)).arrayBuffer());
  t.false(amendedPdf.equals(signedPdf), 'the amendment has a document of its own');
  t.true(box.mails[1]!.parsed.attachments[0]?.content.equals(amendedPdf));
  t.true(gateway.faxes[1]!.document.equals(amendedPdf));
  t.regex(box.mails[1]!.parsed.text ?? '', /amended radiology report/);
});
