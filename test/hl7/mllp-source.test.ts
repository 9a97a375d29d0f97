// The MLLP source against real loopback TCP clients; messages are "stored" by a SourceContext that appends to
// a real file and fsyncs before it resolves (the engine's contract).
import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeHl7 } from '../../hl7/charset.ts';
import { encodeFrame } from '../../hl7/mllp-framer.ts';
import { MllpSource, mllpSourceType, type MllpLimits, type MllpSourceSettings } from '../../hl7/mllp-source.ts';
import { renderMetrics } from '../../http/metrics.ts';
import { FileStoringContext, fixture, MllpTestClient, type StoringContextOptions } from './mllp-peer.ts';

async function startSource(
  t: import('ava').ExecutionContext,
  settings: Partial<Omit<MllpSourceSettings, 'limits'>> & { limits?: Partial<MllpLimits> } = {},
  options: StoringContextOptions = {},
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-hl7-'));
  const context = new FileStoringContext(path.join(dir, 'store.jsonl'), options);
  const parsed = mllpSourceType.parseSettings({ host: '127.0.0.1', port: 0, ...settings }, 'source.settings');
  const source = mllpSourceType.create(parsed, context) as MllpSource;
  await source.start();
  const client = await MllpTestClient.connect(source.port);
  t.teardown(async () => {
    client.socket.destroy();
    await source.stop();
  });
  return { source, context, client };
}

function withControlId(bytes: Buffer, id: string): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\|MSG[A-Z0-9]+\|/, `|${id}|`), 'latin1');
}

test('AA only after the message is stored, with MSA-2 echoing MSH-10', async (t) => {
  const { context, client } = await startSource(t);
  const ack = await client.exchange(await fixture('orm-o01.hl7'));
  t.is(ack.get('MSA-1'), 'AA');
  t.is(ack.get('MSA-2'), 'MSG00001');
  const stored = await context.storedLines();
  t.is(stored.length, 1, 'the message was in the file when the AA arrived');
  t.true(stored[0]!.raw.includes('ORM^O01'));
  // The source hands over the message it parsed, so the pipeline indexes it without parsing it again.
  t.is(context.messages[0]!.document?.get('MSH-10'), 'MSG00001');
  t.is(context.messages[0]!.document?.get('PID-3.1'), 'MRN12345');
  t.is(context.messages[0]!.source['remoteAddress'], '127.0.0.1');
});

test('every ACK has a unique MSH-10', async (t) => {
  const { client } = await startSource(t);
  const orm = await fixture('orm-o01.hl7');
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const ack = await client.exchange(withControlId(orm, `C${i}`));
    t.is(ack.get('MSA-2'), `C${i}`);
    ids.add(ack.get('MSH-10')!);
  }
  t.is(ids.size, 5);
});

test('AE with ERR and MSA-3 when the channel could not process the message', async (t) => {
  const { client } = await startSource(
    t,
    {},
    { outcome: (_m, id) => ({ status: 'error', messageId: id, error: 'map step failed: OBR-4 is empty' }) },
  );
  const ack = await client.exchange(await fixture('orm-o01.hl7'));
  t.is(ack.get('MSA-1'), 'AE');
  t.is(ack.get('MSA-2'), 'MSG00001');
  t.is(ack.get('MSA-3'), 'map step failed: OBR-4 is empty');
  t.is(ack.get('ERR-3.1'), '207');
  t.is(ack.get('ERR-4'), 'E');
});

test('a receive() that throws is answered AE and the connection and process carry on', async (t) => {
  let calls = 0;
  const { client } = await startSource(
    t,
    {},
    { outcome: (_m, id) => (++calls === 1 ? 'throw' : { status: 'accepted', messageId: id }) },
  );
  const orm = await fixture('orm-o01.hl7');
  const first = await client.exchange(withControlId(orm, 'T1'));
  t.is(first.get('MSA-1'), 'AE');
  t.is(first.get('ERR-3.1'), '207');
  const second = await client.exchange(withControlId(orm, 'T2'));
  t.is(second.get('MSA-1'), 'AA');
  t.is(second.get('MSA-2'), 'T2');
});

test('AR for an unsupported message type (200) or event (201)', async (t) => {
  const { context, client } = await startSource(t, { messageTypes: ['ORM^O01', 'ADT^*'] });
  const siu = await client.exchange(await fixture('siu-s12.hl7'));
  t.is(siu.get('MSA-1'), 'AR');
  t.is(siu.get('MSA-2'), 'MSGSIU1');
  t.is(siu.get('ERR-3.1'), '200');
  t.regex(siu.get('MSA-3')!, /MSH-9: message type SIU is not accepted/);
  const o02 = Buffer.from(
    (await fixture('orm-o01.hl7')).toString('latin1').replace('ORM^O01^ORM_O01', 'ORM^O02^ORM_O01'),
    'latin1',
  );
  const ack = await client.exchange(o02);
  t.is(ack.get('MSA-1'), 'AR');
  t.is(ack.get('ERR-3.1'), '201');
  t.is(context.messages.length, 0, 'refused messages are not handed to the channel');
});

test('AR for an unsupported version (203), with ERR-1 for a v2.3 sender', async (t) => {
  const { client } = await startSource(t, { versions: ['2.5.1'] });
  const ack = await client.exchange(await fixture('orm-o01-v23.hl7'));
  t.is(ack.get('MSA-1'), 'AR');
  t.is(ack.get('MSA-2'), 'MSG23');
  t.is(ack.get('ERR-1.4.1'), '203');
  t.is(ack.get('MSH-12'), '2.3');
});

test('enhanced mode: NE/AL gets only the application ACK, AL/NE only the commit ACK', async (t) => {
  const { client } = await startSource(t);
  client.send(await fixture('orm-o01-enhanced-ne-al.hl7'));
  client.send(await fixture('orm-o01-enhanced-al-ne.hl7'));
  client.send(await fixture('orm-o01.hl7'));
  const acks = [await client.nextAck(), await client.nextAck(), await client.nextAck()];
  t.deepEqual(
    acks.map((a) => [a.get('MSA-1'), a.get('MSA-2')]),
    [
      ['AA', 'MSGENH1'],
      ['CA', 'MSGENH2'],
      ['AA', 'MSG00001'],
    ],
  );
});

test('three frames in one write are answered in order', async (t) => {
  const { context, client } = await startSource(t);
  const orm = await fixture('orm-o01.hl7');
  client.write(Buffer.concat(['A1', 'A2', 'A3'].map((id) => encodeFrame(withControlId(orm, id)))));
  const acks = [await client.nextAck(), await client.nextAck(), await client.nextAck()];
  t.deepEqual(
    acks.map((a) => a.get('MSA-2')),
    ['A1', 'A2', 'A3'],
  );
  t.deepEqual(
    context.messages.map((m) => m.document?.get('MSH-10')),
    ['A1', 'A2', 'A3'],
  );
});

test('a frame written byte by byte is answered once', async (t) => {
  const { client } = await startSource(t);
  const bytes = encodeFrame(await fixture('orm-o01.hl7'));
  for (const b of bytes) {
    client.write(Buffer.from([b]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const ack = await client.nextAck();
  t.is(ack.get('MSA-1'), 'AA');
  const next = await client.exchange(withControlId(await fixture('orm-o01.hl7'), 'AFTER'));
  t.is(next.get('MSA-2'), 'AFTER');
});

test('bytes outside a frame end the connection after the frames before them are answered', async (t) => {
  const { client } = await startSource(t);
  const orm = await fixture('orm-o01.hl7');
  const closed = new Promise<void>((resolve) => client.socket.once('close', () => resolve()));
  client.write(
    Buffer.concat([encodeFrame(withControlId(orm, 'G1')), Buffer.from('noise'), encodeFrame(withControlId(orm, 'G2'))]),
  );
  t.is((await client.nextAck()).get('MSA-2'), 'G1');
  await closed;
  t.regex(renderMetrics(), /hl7_mllp_framing_errors_total\{channel="test-channel",kind="garbage"\} [1-9]/);
  t.regex(renderMetrics(), /hub_listener_limit_hits_total\{listener="mllp",limit="bytes-outside-frame"\} [1-9]/);
});

test('an oversized frame is answered AE naming maxFrameBytes, its head stored as errored, and the connection stays usable', async (t) => {
  const { context, client } = await startSource(t, { maxFrameBytes: 1024 });
  const orm = (await fixture('orm-o01.hl7')).toString('latin1');
  const big = Buffer.from(`${orm.replace('MSG00001', 'BIG1')}NTE|2||${'x'.repeat(5000)}\r`, 'latin1');
  const refused = await client.exchange(big);
  t.is(refused.get('MSA-1'), 'AE');
  t.is(refused.get('MSA-2'), 'BIG1');
  t.regex(refused.get('MSA-3')!, /the message has 5\d{3} bytes; the limit maxFrameBytes is 1024/);
  t.is(context.messages[0]!.refusal?.includes('maxFrameBytes'), true);
  t.true(context.messages[0]!.raw.startsWith('MSH|'), 'the head of the message is what is stored');
  t.is(context.messages[0]!.document?.get('MSH-10'), 'BIG1');
  const ok = await client.exchange(withControlId(Buffer.from(orm, 'latin1'), 'SMALL'));
  t.is(ok.get('MSA-1'), 'AA');
  t.is(context.messages.length, 2);
});

test('a frame without MSH gets an AR and the connection stays usable', async (t) => {
  const { context, client } = await startSource(t);
  const refused = await client.exchange(await fixture('no-msh.hl7'));
  t.is(refused.get('MSA-1'), 'AR');
  t.is(refused.get('MSA-2'), '');
  t.is(refused.get('ERR-3.1'), '100');
  const ok = await client.exchange(await fixture('orm-o01.hl7'));
  t.is(ok.get('MSA-1'), 'AA');
  t.is(context.messages.length, 1);
});

test('UTF-8 and 8859/1 messages are stored as text and acknowledged in their own charset', async (t) => {
  const { context, client } = await startSource(t);
  client.send(await fixture('orm-o01-utf8.hl7'));
  const utf8Ack = await client.nextFrame();
  client.send(await fixture('adt-a04-latin1.hl7'));
  const latinAck = await client.nextFrame();
  t.true(context.messages[0]!.raw.includes('Müller-Lüdenscheidt^Zoë^Ångström'));
  t.true(context.messages[1]!.raw.includes('Çelik^Françoise^Hélène'));
  t.true(context.messages[1]!.raw.includes('HÔPITAL'));
  const latin = decodeHl7(latinAck);
  t.is(latin.charset, '8859/1');
  t.true(latin.text.includes('|HÔPITAL|'), 'the ACK names the facility in 8859/1 bytes');
  t.true(latinAck.includes(Buffer.from('HÔPITAL', 'latin1')));
  t.true(decodeHl7(utf8Ack).text.includes('MSA|CA|MSGUTF8'));
});

test('stop() lets an in-flight message finish and be acknowledged', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inFlight = new Promise<void>((resolve) => (entered = resolve));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-hl7-'));
  const context = new FileStoringContext(path.join(dir, 'store.jsonl'));
  const slow = {
    channelId: context.channelId,
    log: context.log,
    receive: async (m: Parameters<FileStoringContext['receive']>[0]) => {
      entered();
      await gate;
      return context.receive(m);
    },
    receiveMany: (messages: Parameters<FileStoringContext['receiveMany']>[0]) => context.receiveMany(messages),
  };
  const source = new MllpSource(mllpSourceType.parseSettings({ port: 0 }, 's'), slow);
  await source.start();
  const client = await MllpTestClient.connect(source.port);
  t.teardown(() => client.socket.destroy());
  client.send(await fixture('orm-o01.hl7'));
  await inFlight;
  const stopped = source.stop();
  release();
  const ack = await client.nextAck();
  t.is(ack.get('MSA-1'), 'AA');
  await stopped;
  t.is((await context.storedLines()).length, 1);
});

function closedSocket(client: MllpTestClient): Promise<void> {
  return client.socket.destroyed
    ? Promise.resolve()
    : new Promise((resolve) => client.socket.once('close', () => resolve()));
}

test('an HTTP request on the MLLP port closes the connection instead of leaving it open with no reply', async (t) => {
  const { client } = await startSource(t);
  client.socket.on('error', () => undefined);
  const closed = closedSocket(client);
  client.write(Buffer.from('GET / HTTP/1.1\r\nHost: hub\r\n\r\n'));
  await closed;
  t.pass();
});

test('10 KB of NUL bytes close the connection', async (t) => {
  const { client } = await startSource(t);
  client.socket.on('error', () => undefined);
  const closed = closedSocket(client);
  client.write(Buffer.alloc(10 * 1024));
  await closed;
  t.pass();
});

test('a sender that trickles a frame slower than readTimeoutMs is dropped, and another connection is not', async (t) => {
  const { source, client } = await startSource(t, { limits: { readTimeoutMs: 500 } });
  const other = await MllpTestClient.connect(source.port);
  t.teardown(() => other.socket.destroy());
  client.socket.on('error', () => undefined);
  const closed = closedSocket(client);
  const orm = await fixture('orm-o01.hl7');
  const frame = encodeFrame(withControlId(orm, 'SLOW'));
  let at = 0;
  const ticker = setInterval(() => {
    if (at < frame.length && !client.socket.destroyed) client.write(frame.subarray(at, ++at));
  }, 100);
  await closed;
  clearInterval(ticker);
  t.true(at < frame.length, 'dropped before the frame was complete');
  const ack = await other.exchange(withControlId(orm, 'FAST'));
  t.is(ack.get('MSA-1'), 'AA');
  t.regex(renderMetrics(), /hub_listener_limit_hits_total\{listener="mllp",limit="read-timeout"\} [1-9]/);
});

test('unfinished frames past maxBufferedBytes close the connection that went over, not the others', async (t) => {
  const { source, client } = await startSource(t, {
    maxFrameBytes: 1024 * 1024,
    limits: { maxBufferedBytes: 1024 * 1024 },
  });
  const other = await MllpTestClient.connect(source.port);
  t.teardown(() => other.socket.destroy());
  client.socket.on('error', () => undefined);
  const orm = await fixture('orm-o01.hl7');
  // `other` holds half a frame of 600 KB; `client` then starts one of 600 KB: together over 1 MiB.
  other.write(Buffer.concat([Buffer.from([0x0b]), withControlId(orm, 'HALF'), Buffer.alloc(600 * 1024, 0x41)]));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const closed = closedSocket(client);
  client.write(Buffer.concat([Buffer.from([0x0b]), Buffer.alloc(600 * 1024, 0x42)]));
  await closed;
  // The first connection still finishes its frame and gets its answer (AR: its NTE-less tail is no segment).
  other.write(Buffer.from([0x1c, 0x0d]));
  const ack = await other.nextAck();
  t.is(ack.get('MSA-2'), 'HALF');
  t.regex(renderMetrics(), /hub_listener_limit_hits_total\{listener="mllp",limit="bytes-total"\} [1-9]/);
});

test('an unknown character set in MSH-18, alternates included, is answered AR with error code 102, as 8859 is', async (t) => {
  const { context, client } = await startSource(t);
  for (const [id, charset] of [
    ['CS1', '8859'],
    ['CS2', 'KLINGON'],
    ['CS3', 'ASCII~KLINGON'],
    ['CS4', '~KLINGON'],
  ] as const) {
    const ack = await client.exchange(
      Buffer.from(`MSH|^~\\&|A|B|C|D|20240101||ADT^A01|${id}|P|2.5||||||${charset}\rPID|1||1\r`, 'latin1'),
    );
    t.is(ack.get('MSA-1'), 'AR', charset);
    t.is(ack.get('MSA-2'), id);
    t.is(ack.get('ERR-3.1'), '102');
    t.is(ack.getEncoded('ERR-2'), 'MSH^1^18');
  }
  t.is(context.messages.length, 0);
});
