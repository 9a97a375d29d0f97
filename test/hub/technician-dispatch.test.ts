// Technician dispatch through a running hub, as a facility's technicians see it: an ORM NW over MLLP notifies
// each technician by the ways they chose (a real SMTP server, an HTTP SMS receiver), an assignment notifies the
// assignee alone, and a STAT exam that nobody acknowledges is escalated to the facility's next technician, who
// is notified along with the one before. The notices carry exam number, facility, procedure and priority, and no
// patient name.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { api, freePort, repoRoot, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';

interface Mail {
  to: string;
  subject: string;
  text: string;
}

async function mailbox(t: ExecutionContext) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        for (const rcpt of session.envelope.rcptTo)
          mails.push({ to: rcpt.address, subject: parsed.subject ?? '', text: parsed.text ?? '' });
        callback();
      }, callback);
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as { port: number }).port, mails };
}

async function smsReceiver(t: ExecutionContext) {
  const texts: Array<{ to: string; text: string }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      // A body that is not JSON fails the test through the texts it checks, not as an uncaught exception.
      try {
        texts.push(JSON.parse(body));
      } catch {
        response.writeHead(400).end('{"error":"not JSON"}');
        return;
      }
      response.writeHead(200).end('{"queued":true}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/sms`, texts };
}

async function valleyGeneral() {
  return JSON.parse(await readFile(path.join(repoRoot, 'config', 'facilities', 'valley-general.json'), 'utf8'));
}

function ordersChannel(port: number) {
  return {
    id: 'valley-orders',
    name: 'Valley orders to exams',
    enabled: true,
    source: { type: 'mllp', settings: { host: '127.0.0.1', port, messageTypes: ['ORM^O01'] } },
    destinations: [
      { name: 'exams', connector: { type: 'rso-exams', settings: { timeZone: 'America/New_York' } }, queue: 'ordered' },
    ],
  };
}

async function dispatchChannel(smtpPort: number, smsUrl: string) {
  const sample = JSON.parse(
    await readFile(path.join(repoRoot, 'config', 'channels', 'technician-dispatch.json'), 'utf8'),
  ) as {
    id: string;
    destinations: Array<{ name: string; connector: { settings: Record<string, unknown> }; retry: unknown }>;
  };
  const fast = { initialDelayMs: 100, maxDelayMs: 500, multiplier: 2 };
  const destinations = sample.destinations
    .filter((d) => d.name !== 'fax')
    .map((d) => {
      const settings = d.connector.settings as { gateway?: Record<string, unknown> } & Record<string, unknown>;
      if (d.name === 'email') settings.gateway = { ...settings.gateway, port: smtpPort };
      if (d.name === 'sms') settings.gateway = { ...settings.gateway, url: smsUrl };
      if (d.name === 'escalation') Object.assign(settings, { ackTimeoutMs: 1500, maxRounds: 1 });
      return { ...d, retry: fast };
    });
  return {
    ...sample,
    destinations,
    source: {
      type: 'exam-events',
      settings: { types: ['exam.created', 'exam.technician-assigned', 'exam.escalated'], pollMs: 50 },
    },
  };
}

function orm(placer: string, priority: 'R' | 'S'): Buffer {
  const segments = [
    `MSH|^~\\&|EPIC|VALLEYGEN|RSO_HUB|RSO|20240611100000-0400||ORM^O01|${placer}|P|2.4|||AL|NE`,
    'PID|1||V100200^^^VALLEYGEN^MR||OBRIEN^MARY^ANN^^^^L||19800229|F',
    'PV1|1|O',
    `ORC|NW|${placer}|||||^^^20240611113000^^${priority}`,
    `OBR|1|${placer}||71260^CT CHEST W CONTRAST^CPT4||||||||||||||||||||CT`,
  ];
  return Buffer.from(`${segments.join('\r')}\r`, 'latin1');
}

async function examNumberOf(hub: HubProcess, placer: string): Promise<string> {
  let found: string | undefined;
  await until(
    async () => {
      const list = (await (await api(hub, '/api/facilities/VALLEYGEN/active')).json()) as Array<{
        examNumber: string;
        identifiers: Array<{ value: string }>;
      }>;
      found = list.find((e) => e.identifiers.some((i) => i.value === placer))?.examNumber;
      return found !== undefined;
    },
    15_000,
    `the exam of ${placer}`,
  );
  return found!;
}

async function setup(t: ExecutionContext) {
  const box = await mailbox(t);
  const sms = await smsReceiver(t);
  const mllpPort = await freePort();
  const hub = await startHub({
    channels: [ordersChannel(mllpPort), await dispatchChannel(box.port, sms.url)],
    facilities: [await valleyGeneral()],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(mllpPort);
  t.teardown(() => void client.close());
  const order = async (placer: string, priority: 'R' | 'S') => {
    const ack = await client.exchange(orm(placer, priority));
    if (!['AA', 'CA'].includes(ack.get('MSA-1') ?? '')) throw new Error(`not accepted: ${ack.toString()}`);
    return examNumberOf(hub, placer);
  };
  return { hub, box, sms, order };
}

const maria = 'maria.lopez@valleygeneral.example';
const james = 'james.okafor@valleygeneral.example';

test('a new exam notifies each technician their way; an assignment notifies only the assignee', async (t) => {
  const { hub, box, sms, order } = await setup(t);
  const examNumber = await order('VG-DISP-1', 'R');
  await until(() => box.mails.length >= 2 && sms.texts.length >= 1, 20_000, 'the new-exam notices');
  t.deepEqual(box.mails.map((m) => m.to).sort(), [james, maria]);
  t.deepEqual(
    sms.texts.map((s) => s.to),
    ['+15555550101'],
  );
  const mail = box.mails[0]!;
  t.is(mail.subject, 'ROUTINE exam at Valley General');
  t.regex(mail.text, new RegExp(`Exam: ${examNumber}`));
  t.regex(mail.text, /Procedure: CT CHEST W CONTRAST/);
  t.regex(mail.text, /Priority: ROUTINE/);
  // The facility's own SMS template (config/facilities/valley-general.json dispatchTemplates.sms).
  t.is(
    sms.texts[0]!.text,
    `RSO ROUTINE: a new exam was requested. Exam ${examNumber} at Valley General, CT CHEST W CONTRAST.`,
  );
  for (const text of [...box.mails.map((m) => `${m.subject} ${m.text}`), ...sms.texts.map((s) => s.text)])
    t.notRegex(text, /OBRIEN|MARY|19800229/, 'no patient data in a notice');

  const assigned = await api(hub, `/api/exams/${examNumber}/assign`, {
    method: 'POST',
    body: JSON.stringify({ technicianId: 'tech-james' }),
  });
  t.is(assigned.status, 200);
  t.like(await assigned.json(), { technicianId: 'tech-james', acknowledgedAt: null });
  await until(() => box.mails.length >= 3, 20_000, 'the assignment notice');
  t.is(box.mails[2]!.to, james);
  t.regex(box.mails[2]!.text, /an exam was assigned to you/);
  t.is(sms.texts.length, 1, 'the assignment sent no SMS to the technician it is not for');
  t.is(box.mails.length, 3);

  const wrong = await api(hub, `/api/exams/${examNumber}/acknowledge`, {
    method: 'POST',
    body: JSON.stringify({ technicianId: 'tech-maria' }),
  });
  t.is(wrong.status, 400);
  t.like(await wrong.json(), { path: 'technicianId' });
  const unknown = await api(hub, `/api/exams/${examNumber}/assign`, {
    method: 'POST',
    body: JSON.stringify({ technicianId: 'tech-nobody' }),
  });
  t.is(unknown.status, 400);
  const acknowledged = await api(hub, `/api/exams/${examNumber}/acknowledge`, { method: 'POST' });
  t.is(acknowledged.status, 200);
  t.like(await acknowledged.json(), { technicianId: 'tech-james' });
});

test('a STAT exam nobody acknowledges is escalated to the next technician, who is notified with the one before', async (t) => {
  const { hub, box, sms, order } = await setup(t);
  const examNumber = await order('VG-DISP-2', 'S');
  const assigned = await api(hub, `/api/exams/${examNumber}/assign`, {
    method: 'POST',
    body: JSON.stringify({ technicianId: 'tech-maria' }),
  });
  t.is(assigned.status, 200);
  const escalated = (to: string) => box.mails.some((m) => m.to === to && /escalated/.test(m.text));
  await until(
    () => escalated(james) && escalated(maria) && sms.texts.some((s) => /escalated/.test(s.text)),
    30_000,
    'the escalation notices to the next technician and the one before',
  );
  t.is(sms.texts.filter((s) => /escalated/.test(s.text))[0]?.to, '+15555550101');
  t.is(box.mails.find((m) => /escalated/.test(m.text))?.subject, 'STAT exam at Valley General');
  const exams = (await (await api(hub, '/api/technicians/tech-james/active')).json()) as Array<{
    examNumber: string;
    escalations?: number;
  }>;
  t.like(
    exams.find((e) => e.examNumber === examNumber),
    { escalations: 1 },
  );
});
