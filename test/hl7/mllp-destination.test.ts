// The MLLP destination (node-hl7-client underneath) against a real MLLP listener on loopback, built on our
// own framer, answering AA/AE/AR, nothing, or closing the connection.
import test from 'ava';
import { mllpDestinationType, type MllpDestinationSettings } from '../../hl7/mllp-destination.ts';
import { createLogger } from '../../runtime/log.ts';
import { freePort } from '../support/hub-process.ts';
import { fixture, MllpTestListener, type ListenerAnswer } from './mllp-peer.ts';
import type { Hl7Message } from '../../hl7/message.ts';

const context = { channelId: 'c1', destinationName: 'ehr', log: createLogger({ test: 'mllp-destination' }) };

async function setup(
  t: import('ava').ExecutionContext,
  answer: (m: Hl7Message, i: number) => ListenerAnswer,
  settings: Partial<MllpDestinationSettings> = {},
) {
  const listener = await MllpTestListener.start(answer);
  let connections = 0;
  listener.server.on('connection', () => connections++);
  const destination = mllpDestinationType.create(
    mllpDestinationType.parseSettings(
      { host: '127.0.0.1', port: listener.port, ackTimeoutMs: 1000, connectTimeoutMs: 1000, ...settings },
      'd',
    ),
    context,
  );
  t.teardown(async () => {
    await destination.stop();
    await listener.stop();
  });
  return { listener, destination, connections: () => connections };
}

async function message(id: string, name = 'orm-o01.hl7') {
  const content = (await fixture(name))
    .toString(name.includes('latin1') ? 'latin1' : 'utf8')
    .replace(/\|MSG[A-Z0-9]+\|/, `|${id}|`);
  return { messageId: id, channelId: 'c1', destinationName: 'ehr', content, dataType: 'hl7v2', attempt: 1 };
}

test('AA means sent, with the ACK as response, over one persistent connection', async (t) => {
  const { listener, destination, connections } = await setup(t, () => 'AA');
  for (const id of ['D1', 'D2', 'D3']) {
    const result = await destination.send(await message(id));
    t.is(result.status, 'sent');
    t.regex(result.response ?? '', new RegExp(`MSA\\|AA\\|${id}`));
  }
  t.deepEqual(
    listener.received.map((m) => m.get('MSH-10')),
    ['D1', 'D2', 'D3'],
  );
  t.is(connections(), 1);
});

test("AE means retry and AR means failed, with the receiver's text", async (t) => {
  const { destination } = await setup(t, (_m, i) => (i === 0 ? 'AE' : 'AR'));
  const ae = await destination.send(await message('E1'));
  t.is(ae.status, 'retry');
  t.true(ae.status === 'retry' && /AE: test listener says AE/.test(ae.error));
  const ar = await destination.send(await message('R1'));
  t.is(ar.status, 'failed');
  t.true(ar.status === 'failed' && /AR/.test(ar.error));
});

test('no ACK within ackTimeoutMs means retry, and the next message goes out on a new connection', async (t) => {
  const { listener, destination, connections } = await setup(t, (_m, i) => (i === 0 ? 'none' : 'AA'), {
    ackTimeoutMs: 300,
  });
  const silent = await destination.send(await message('S1'));
  t.is(silent.status, 'retry');
  t.true(silent.status === 'retry' && /no ACK .* within 300 ms/.test(silent.error));
  const next = await destination.send(await message('S2'));
  t.is(next.status, 'sent');
  t.is(listener.received.length, 2);
  t.is(connections(), 2);
});

test('a receiver that drops the connection means retry, then a reconnect delivers', async (t) => {
  const { destination } = await setup(t, (_m, i) => (i === 0 ? 'close' : 'AA'), { ackTimeoutMs: 5000 });
  const dropped = await destination.send(await message('X1'));
  t.is(dropped.status, 'retry');
  t.is((await destination.send(await message('X2'))).status, 'sent');
});

test('nobody listening means retry', async (t) => {
  const port = await freePort();
  const destination = mllpDestinationType.create(
    mllpDestinationType.parseSettings({ host: '127.0.0.1', port, connectTimeoutMs: 300 }, 'd'),
    context,
  );
  t.teardown(() => destination.stop());
  const result = await destination.send(await message('N1'));
  t.is(result.status, 'retry');
  t.true(result.status === 'retry' && /could not connect/.test(result.error));
});

test('a receiver that refuses the connection means retry at once, naming the refusal, not the connect timeout', async (t) => {
  const port = await freePort();
  const destination = mllpDestinationType.create(
    mllpDestinationType.parseSettings({ host: '127.0.0.1', port, connectTimeoutMs: 60_000 }, 'd'),
    context,
  );
  t.teardown(() => destination.stop());
  const result = await destination.send(await message('R1'));
  t.is(result.status, 'retry');
  t.true(
    result.status === 'retry' && /could not connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/.test(result.error),
    JSON.stringify(result),
  );
});

test('concurrent sends go out one at a time, each waiting for its ACK', async (t) => {
  const { listener, destination } = await setup(t, () => 'AA');
  const results = await Promise.all(['P1', 'P2', 'P3', 'P4'].map(async (id) => destination.send(await message(id))));
  t.deepEqual(
    results.map((r) => r.status),
    ['sent', 'sent', 'sent', 'sent'],
  );
  t.deepEqual(listener.received.map((m) => m.get('MSH-10')).sort(), ['P1', 'P2', 'P3', 'P4']);
});

test('an 8859/1 message goes out in 8859/1 and content that is not HL7 fails for good', async (t) => {
  const { listener, destination } = await setup(t, () => 'AA');
  t.is((await destination.send(await message('L1', 'adt-a04-latin1.hl7'))).status, 'sent');
  t.is(listener.received[0]!.get('PID-5.2'), 'Françoise');
  const bad = await destination.send({ ...(await message('B1')), content: 'not hl7' });
  t.is(bad.status, 'failed');
});

test('settings are checked with the path and reason', (t) => {
  t.throws(() => mllpDestinationType.parseSettings({ host: '127.0.0.1' }, 'destinations[0].connector.settings'), {
    message: 'destinations[0].connector.settings.port: expected a port number from 0 to 65535',
  });
  t.throws(() => mllpDestinationType.parseSettings({ host: 'h', port: 1, ackTimeout: 5 }, 'd'), {
    message: /d.ackTimeout: unknown key/,
  });
});
