// End to end through the real channel engine and embedded store: an ORM sent over MLLP is stored, acknowledged
// once stored, and delivered by the MLLP destination to a second real MLLP listener (the facility's receiver).
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { registerBuiltinConnectors } from '../../channels/builtin-connectors.ts';
import { parseChannelDefinition } from '../../channels/definition-schema.ts';
import { ChannelEngine } from '../../channels/engine.ts';
import { ChannelRegistry } from '../../channels/registry.ts';
import { registerHl7Connectors } from '../../hl7/register.ts';
import { createLogger } from '../../runtime/log.ts';
import { openStore } from '../../store/open.ts';
import { freePort, repoRoot } from '../support/hub-process.ts';
import { fixture, MllpTestClient, MllpTestListener } from './mllp-peer.ts';

/** A started engine on a fresh embedded store, with a receiver answering `answer`; all torn down after the test. */
async function startRelay(
  t: ExecutionContext,
  name: string,
  answer: Parameters<typeof MllpTestListener.start>[0],
  engineOptions: { stopTimeoutMs?: number } = {},
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `rso-${name}-`));
  const log = createLogger({ test: name });
  const store = await openStore({ dataDir: dir, log });
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registerHl7Connectors(registry);
  const engine = new ChannelEngine({ db: store.db, registry, log, pollIntervalMs: 50, ...engineOptions });
  const receiver = await MllpTestListener.start(answer);
  t.teardown(async () => {
    await engine.stop();
    await store.close();
    await receiver.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await engine.start();
  return { engine, registry, receiver };
}

test('an ORM over MLLP is stored, committed (CA) and delivered to the MLLP receiver', async (t) => {
  const { engine, registry, receiver } = await startRelay(t, 'hl7-e2e', () => 'AA');
  const port = await freePort();
  const definition = parseChannelDefinition(
    {
      id: 'orders-mllp',
      name: 'Orders in on MLLP',
      source: { type: 'mllp', settings: { host: '127.0.0.1', port, messageTypes: ['ORM^O01'] } },
      destinations: [
        {
          name: 'ehr',
          connector: { type: 'mllp', settings: { host: '127.0.0.1', port: receiver.port, ackTimeoutMs: 5000 } },
        },
      ],
    },
    registry,
  );
  const [status] = await engine.deploy({ definition, revision: 0 });
  t.is(status?.status, 'deployed', status?.error);

  const client = await MllpTestClient.connect(port);
  t.teardown(() => client.socket.destroy());
  const ack = await client.exchange(await fixture('orm-o01-utf8.hl7'));
  t.is(ack.get('MSA-1'), 'CA', 'MSH-15 AL / MSH-16 NE: the commit ACK once stored');
  const found = await engine.searchMessages({ channelId: 'orders-mllp', controlId: 'MSGUTF8' });
  t.is(found.total, 1);

  while (receiver.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const delivered = receiver.received[0]!;
  t.is(delivered.get('MSH-10'), 'MSGUTF8');
  t.is(delivered.get('PID-5.1'), 'Müller-Lüdenscheidt');

  const refused = await client.exchange(await fixture('adt-a04-latin1.hl7'));
  t.is(refused.get('MSA-1'), 'AR');
});

test('a backlog goes to the MLLP receiver as runs, in order: an AE is retried in its place, an AR is given up, the rest go on', async (t) => {
  let refusedOnce = false;
  const { engine, registry, receiver } = await startRelay(t, 'hl7-runs', (message) => {
    const id = message.get('MSH-10');
    if (id === 'RUN030' && !refusedOnce) {
      refusedOnce = true;
      return 'AE';
    }
    return id === 'RUN060' ? 'AR' : 'AA';
  });
  const port = await freePort();
  const definition = parseChannelDefinition(
    {
      id: 'orders-runs',
      name: 'Orders in, relayed in order',
      source: { type: 'mllp', settings: { host: '127.0.0.1', port } },
      destinations: [
        {
          name: 'ris',
          connector: { type: 'mllp', settings: { host: '127.0.0.1', port: receiver.port, ackTimeoutMs: 5000 } },
          queue: 'ordered',
          retry: { initialDelayMs: 50, maxDelayMs: 100, multiplier: 2 },
        },
      ],
    },
    registry,
  );
  const [status] = await engine.deploy({ definition, revision: 0 });
  t.is(status?.status, 'deployed', status?.error);
  // Paused while 120 messages arrive, so resuming hands the sender runs of queued heads, not one at a time.
  await engine.pauseDestination('orders-runs', 'ris');
  const template = (await readFile(path.join(repoRoot, 'test', 'fixtures', 'hl7', 'orm-o01.hl7'))).toString('latin1');
  const client = await MllpTestClient.connect(port);
  t.teardown(() => client.socket.destroy());
  const ids = Array.from({ length: 120 }, (_v, i) => `RUN${String(i + 1).padStart(3, '0')}`);
  for (const id of ids)
    t.is((await client.exchange(Buffer.from(template.replace('MSG00001', id), 'latin1'))).get('MSA-1'), 'AA');
  await engine.resumeDestination('orders-runs', 'ris');

  while (receiver.received.length < ids.length + 1) await new Promise((resolve) => setTimeout(resolve, 20));
  const expected = [...ids.slice(0, 30), 'RUN030', ...ids.slice(30)];
  t.deepEqual(
    receiver.received.map((message) => message.get('MSH-10')),
    expected,
    "the AE'd message again in its place, then the rest once each, in order",
  );
  const settled = async (state: string): Promise<number> =>
    (await engine.searchMessages({ channelId: 'orders-runs', state: state as never, limit: 500 })).total;
  while ((await settled('sent')) < ids.length - 1) await new Promise((resolve) => setTimeout(resolve, 20));
  const refused = await engine.searchMessages({ channelId: 'orders-runs', controlId: 'RUN060' });
  t.is(refused.items[0]?.destinations[0]?.state, 'error', 'AR: given up, not retried');
  const retried = await engine.searchMessages({ channelId: 'orders-runs', controlId: 'RUN030' });
  t.is(retried.items[0]?.destinations[0]?.state, 'sent');
  t.is(retried.items[0]?.destinations[0]?.attempts, 2);
});

/** A port whose connects hang (test/support/stalled-listener.ts), its accept queue already full. */
async function silentPort(t: ExecutionContext): Promise<number> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'test', 'support', 'stalled-listener.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const { port } = JSON.parse(line.toString()) as { port: number };
  for (let i = 0; i < 2; i++) {
    const filler = net.connect({ host: '127.0.0.1', port });
    t.teardown(() => void filler.destroy());
    await once(filler, 'connect');
  }
  return port;
}

test('stop gives up a connection still being made to a silent receiver; the message stays queued', async (t) => {
  // The engine would wait 10 minutes for the delivery in hand and the connect 10 minutes too: only giving up the
  // connect lets this test end before ava's time limit.
  const { engine, registry } = await startRelay(t, 'hl7-silent', () => 'AA', { stopTimeoutMs: 600_000 });
  const port = await freePort();
  const silent = await silentPort(t);
  const definition = parseChannelDefinition(
    {
      id: 'orders-silent',
      name: 'Orders to a silent receiver',
      source: { type: 'mllp', settings: { host: '127.0.0.1', port } },
      destinations: [
        {
          name: 'ris',
          connector: { type: 'mllp', settings: { host: '127.0.0.1', port: silent, connectTimeoutMs: 600_000 } },
          queue: 'ordered',
        },
      ],
    },
    registry,
  );
  await engine.deploy({ definition, revision: 0 });
  const client = await MllpTestClient.connect(port);
  t.teardown(() => client.socket.destroy());
  t.is((await client.exchange(await fixture('orm-o01.hl7'))).get('MSA-1'), 'AA');
  // The queue worker picks the message up at once (poll 50 ms) and the sender thread starts connecting.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await engine.stop();
  const stored = await engine.searchMessages({ channelId: 'orders-silent', controlId: 'MSG00001' });
  t.is(stored.items[0]?.destinations[0]?.state, 'queued', 'not sent, not given up: delivered after a restart');
  t.is(stored.items[0]?.destinations[0]?.attempts, 0, 'a connection given up at stop is not an attempt');
});
