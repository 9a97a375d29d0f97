// The `smtp` destination against a real SMTP server (smtp-server) through the channel engine's durable queue:
// the mail and its PDF arrive intact (read back with mailparser), a 451 is retried once, a 550 fails with the
// server's text, a message over the server's size limit fails with the server's text, and a server that accepts
// the connection but never greets is a timeout that is retried.
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { smtpDestination } from '../../mail/smtp-destination.ts';
import { makeCertificates } from '../support/certificates.ts';
import { TestPeers, channelJson, jsonMessage, startEngine, tempDir, waitFor } from '../channels/harness.ts';

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
}

/** Answers DATA with the replies in `script` (a code and text), one per mail; past the end, 250. */
async function smtpPeer(
  t: ExecutionContext,
  script: Array<[number, string]> = [],
  size?: number,
  tls?: { key: Buffer; cert: Buffer },
) {
  const received: Received[] = [];
  let dataCalls = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: tls === undefined ? ['STARTTLS', 'AUTH'] : ['AUTH'],
    logger: false,
    ...(tls === undefined ? {} : tls),
    ...(size === undefined ? {} : { size }),
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('nobody@')) {
        const error = Object.assign(new Error('5.1.1 nobody here'), { responseCode: 550 });
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const step = script[dataCalls++];
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          callback(Object.assign(new Error('5.3.4 Message exceeds fixed maximum message size'), { responseCode: 552 }));
          return;
        }
        if (step !== undefined && step[0] !== 250) {
          callback(Object.assign(new Error(step[1]), { responseCode: step[0] }));
          return;
        }
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as { port: number }).port;
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port, received, dataCalls: () => dataCalls };
}

async function setup(
  t: ExecutionContext,
  port: number,
  timeoutMs = 5000,
  extra: Record<string, unknown> = {},
  queue: Record<string, unknown> = { queue: 'ordered' },
) {
  const tmp = await tempDir('smtp');
  const peers = new TestPeers();
  const registry = peers.registry();
  registry.addDestination(smtpDestination);
  const started = await startEngine(peers, path.join(tmp.dir, 'data'), { registry });
  t.teardown(async () => {
    await started.close();
    await tmp.remove();
  });
  await started.engine.saveDefinition(
    channelJson('mail', [
      {
        name: 'mail',
        connector: {
          type: 'smtp',
          settings: { host: '127.0.0.1', port, security: 'none', from: 'hub@rso.example', timeoutMs, ...extra },
        },
        ...queue,
        retry: { initialDelayMs: 20, maxDelayMs: 100, multiplier: 2 },
        maxAttempts: 3,
      },
    ]),
  );
  const send = async (body: Record<string, unknown>) => {
    const outcome = await peers.receive('mail', jsonMessage(body));
    if (outcome.status !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(outcome)}`);
    return outcome.messageId;
  };
  const delivery = async (id: string) => (await started.engine.getMessage(id))?.destinations[0];
  const settled = async (id: string) => {
    await waitFor('the delivery to settle', async () => ['sent', 'error'].includes((await delivery(id))?.state ?? ''));
    return (await delivery(id))!;
  };
  return { send, settled };
}

const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256))]);

function mail(extra: Record<string, unknown> = {}) {
  return {
    to: ['reports@valley.example', 'nobody@valley.example'],
    subject: 'Radiology report for exam RSO-1',
    text: 'The signed report is attached as a PDF.',
    attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', contentBase64: pdf.toString('base64') }],
    ...extra,
  };
}

test('the mail and its PDF arrive intact; each recipient accepted or refused is kept on the delivery', async (t) => {
  const peer = await smtpPeer(t);
  const hub = await setup(t, peer.port);
  const delivery = await hub.settled(await hub.send(mail()));
  t.is(delivery.state, 'sent');
  t.is(delivery.attempts, 1);
  const receipt = JSON.parse(delivery.response ?? '{}');
  t.deepEqual(receipt.accepted, ['reports@valley.example']);
  t.is(receipt.rejected[0].address, 'nobody@valley.example');
  t.regex(receipt.rejected[0].reply, /550 5\.1\.1 nobody here/);
  t.is(peer.received.length, 1);
  t.deepEqual(peer.received[0]!.to, ['reports@valley.example']);
  const parsed = await simpleParser(peer.received[0]!.raw);
  t.is(parsed.subject, 'Radiology report for exam RSO-1');
  t.is(parsed.from?.value[0]?.address, 'hub@rso.example');
  t.is(parsed.attachments.length, 1);
  t.is(parsed.attachments[0]!.filename, 'report.pdf');
  t.is(parsed.attachments[0]!.contentType, 'application/pdf');
  t.true(parsed.attachments[0]!.content.equals(pdf), 'the PDF arrives byte for byte');
});

test('a 451 reply is retried once and the mail is delivered on the 250', async (t) => {
  const peer = await smtpPeer(t, [[451, '4.3.0 try again later']]);
  const hub = await setup(t, peer.port);
  const delivery = await hub.settled(await hub.send(mail({ to: ['reports@valley.example'] })));
  t.is(delivery.state, 'sent');
  t.is(delivery.attempts, 2, 'one retry');
  t.is(peer.dataCalls(), 2);
  t.is(peer.received.length, 1);
});

test('a 550 reply fails the delivery with the server text, without a retry', async (t) => {
  const peer = await smtpPeer(t, [[550, '5.7.1 relaying denied']]);
  const hub = await setup(t, peer.port);
  const delivery = await hub.settled(await hub.send(mail({ to: ['reports@valley.example'] })));
  t.is(delivery.state, 'error');
  t.is(delivery.attempts, 1);
  t.regex(delivery.lastError ?? '', /550 5\.7\.1 relaying denied/);
});

test('a mail over the server size limit fails with the server text', async (t) => {
  const peer = await smtpPeer(t, [], 1024);
  const hub = await setup(t, peer.port);
  const delivery = await hub.settled(await hub.send(mail({ to: ['reports@valley.example'] })));
  t.is(delivery.state, 'error');
  t.is(delivery.attempts, 1);
  t.regex(delivery.lastError ?? '', /^55\d .*(size|exceed)/i);
  t.is(peer.received.length, 0);
});

test('a server that never greets times out and the delivery is retried; the engine goes on', async (t) => {
  const silent: Server = createServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => new Promise<void>((resolve) => silent.close(() => resolve())));
  const hub = await setup(t, (silent.address() as { port: number }).port, 200);
  const delivery = await hub.settled(await hub.send(mail({ to: ['reports@valley.example'] })));
  t.is(delivery.state, 'error', 'after maxAttempts');
  t.is(delivery.attempts, 3, 'each timeout was retried');
  t.regex(delivery.lastError ?? '', /timeout|greeting never received/i, 'a connection or greeting timeout');
});

test('a content that is no mail fails at once with the path of the problem', async (t) => {
  const peer = await smtpPeer(t);
  const hub = await setup(t, peer.port);
  const delivery = await hub.settled(await hub.send({ subject: 'x', text: 'y', to: ['not-an-address'] }));
  t.is(delivery.state, 'error');
  t.regex(delivery.lastError ?? '', /content\.to\[0\]: expected an e-mail address/);
});

test("STARTTLS with the relay's private CA delivers; a relay whose certificate another CA signed is retried", async (t) => {
  const certs = await makeCertificates();
  const tls = { key: await readFile(certs.serverKey), cert: await readFile(certs.serverCert) };
  const peer = await smtpPeer(t, [], undefined, tls);
  const trusted = await setup(t, peer.port, 5000, { security: 'starttls', tls: { caFile: certs.caFile } });
  const delivery = await trusted.settled(await trusted.send(mail({ to: ['reports@valley.example'] })));
  t.is(delivery.state, 'sent');
  t.is(peer.received.length, 1);

  const stranger = await setup(t, peer.port, 5000, { security: 'starttls', tls: { caFile: certs.strangerCert } });
  const refused = await stranger.settled(await stranger.send(mail({ to: ['reports@valley.example'] })));
  t.is(refused.state, 'error', 'after maxAttempts');
  t.is(refused.attempts, 3, 'a certificate failure is retried (the operator may fix the CA)');
  t.regex(refused.lastError ?? '', /certificate|self.signed|issuer/i);
  t.is(peer.received.length, 1, 'nothing was sent over the untrusted connection');
});

test('an unordered destination with concurrency 3 has three mails in flight at once, never more, and each arrives once', async (t) => {
  // The server holds every DATA reply until three transactions are open together, so one in flight at a time
  // would never get an answer and the test would time out.
  let open = 0;
  let most = 0;
  let held: Array<() => void> = [];
  const subjects: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        open++;
        most = Math.max(most, open);
        held.push(() => {
          open--;
          subjects.push(/^Subject: (.*)$/m.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '');
          callback();
        });
        if (open < 3 && most < 3) return;
        const release = held;
        held = [];
        for (const reply of release) reply();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.server.address() as { port: number }).port;
  const { send, settled } = await setup(t, port, 30_000, {}, { queue: 'unordered', concurrency: 3 });
  const ids: string[] = [];
  for (let i = 1; i <= 7; i++) ids.push(await send(mail({ to: ['reports@valley.example'], subject: `Report ${i}` })));
  for (const id of ids) t.is((await settled(id)).state, 'sent');
  t.is(most, 3);
  t.deepEqual(subjects.sort(), ['Report 1', 'Report 2', 'Report 3', 'Report 4', 'Report 5', 'Report 6', 'Report 7']);
});
