// The MLLP source's limits on one message (segments, repetitions of a field, patient identifiers, bytes), through
// the real channel engine and embedded store: a message over a limit is answered AE with an ERR naming the limit
// and where it was passed, is stored as errored (an analyst finds it) and reaches no destination.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { registerBuiltinConnectors } from '../../channels/builtin-connectors.ts';
import { parseChannelDefinition } from '../../channels/definition-schema.ts';
import { ChannelEngine } from '../../channels/engine.ts';
import { ChannelRegistry } from '../../channels/registry.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { mllpSourceType } from '../../hl7/mllp-source.ts';
import { registerHl7Connectors } from '../../hl7/register.ts';
import { createLogger } from '../../runtime/log.ts';
import { openStore } from '../../store/open.ts';
import { until } from '../support/channels.ts';
import { hostileOrder } from '../support/hostile-hl7.ts';
import { freePort } from '../support/hub-process.ts';
import { MllpTestClient } from './mllp-peer.ts';

/** A deployed channel (MLLP in, each message out to a file in `outbox`) with these source settings. */
let channels = 0;

async function startChannel(t: ExecutionContext, sourceSettings: Record<string, unknown> = {}) {
  const channelId = `limits-${++channels}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-hl7-limits-'));
  const log = createLogger({ test: 'hl7-limits' });
  const store = await openStore({ dataDir: dir, log });
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registerHl7Connectors(registry);
  const engine = new ChannelEngine({ db: store.db, registry, log, pollIntervalMs: 50 });
  const outbox = path.join(dir, 'outbox');
  t.teardown(async () => {
    await engine.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await engine.start();
  const port = await freePort();
  const definition = parseChannelDefinition(
    {
      id: channelId,
      name: channelId,
      source: { type: 'mllp', settings: { host: '127.0.0.1', port, ...sourceSettings } },
      destinations: [{ name: 'ris', connector: { type: 'file', settings: { directory: outbox } } }],
    },
    registry,
  );
  const [status] = await engine.deploy({ definition, revision: 0 });
  t.is(status?.status, 'deployed', status?.error);
  const client = await MllpTestClient.connect(port);
  t.teardown(() => client.socket.destroy());
  return { engine, outbox, client, channelId };
}

function frame(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** The refused message is stored as errored with the ACK's reason; a good one sent after it is the only one delivered. */
async function assertStoredNotSent(
  t: ExecutionContext,
  setup: Awaited<ReturnType<typeof startChannel>>,
  controlId: string,
  reason: RegExp,
) {
  const { engine, outbox, client, channelId } = setup;
  const errored = await engine.searchMessages({ channelId, controlId, state: 'error' });
  t.is(errored.total, 1, 'stored as errored');
  t.regex(errored.items[0]!.error ?? '', reason);
  t.deepEqual(
    errored.items[0]!.destinations.map((d) => d.state),
    ['received'],
    'queued for no destination',
  );
  const ok = await client.exchange(frame(hostileOrder(2, { controlId: 'GOOD1' })));
  t.is(ok.get('MSA-1'), 'AA');
  // The file destination writes a hidden temp file and renames it: only finished files count.
  const delivered = async () =>
    (await readdir(outbox).catch(() => [] as string[])).filter((name) => !name.startsWith('.'));
  await until(async () => (await delivered()).length > 0, 10_000, 'the good message in the outbox');
  const files = await delivered();
  t.is(files.length, 1);
  t.is(Hl7Message.parse(await readFile(path.join(outbox, files[0]!), 'utf8')).get('MSH-10'), 'GOOD1');
}

function assertErr(t: ExecutionContext, ack: Hl7Message, where: string, text: RegExp): void {
  t.is(ack.get('MSA-1'), 'AE');
  t.regex(ack.get('MSA-3') ?? '', text);
  t.is(ack.get('ERR-3.1'), '207');
  t.is(ack.getEncoded('ERR-2'), where);
  t.regex(ack.get('ERR-8') ?? '', text);
}

test('a PID-3 past maxIdentifiersPerPatient (default 100) is answered AE naming the limit and PID-3, stored as errored, sent nowhere', async (t) => {
  const setup = await startChannel(t);
  const ack = await setup.client.exchange(frame(hostileOrder(101, { controlId: 'IDS1' })));
  t.is(ack.get('MSA-2'), 'IDS1');
  assertErr(t, ack, 'PID^1^3', /PID-3 has more than 100 repetitions; the limit maxIdentifiersPerPatient is 100/);
  await assertStoredNotSent(t, setup, 'IDS1', /maxIdentifiersPerPatient/);
  const kept = await setup.engine.searchMessages({ channelId: setup.channelId, controlId: 'IDS1' });
  t.is(kept.items[0]!.patientId, '1', 'indexed like any message, so it is found by patient too');
});

test('the 100,000-repetition ORM of issue 10 is answered AE at once and stored as errored', async (t) => {
  const setup = await startChannel(t);
  const hostile = hostileOrder(100_000, { controlId: 'HOSTILE100K' });
  t.true(hostile.length < 700_000);
  const ack = await setup.client.exchange(frame(hostile));
  assertErr(t, ack, 'PID^1^3', /maxIdentifiersPerPatient/);
  await assertStoredNotSent(t, setup, 'HOSTILE100K', /PID-3 has more than 100 repetitions/);
});

test('any field past maxRepetitions is answered AE naming the limit and the field', async (t) => {
  const setup = await startChannel(t, { messageLimits: { maxRepetitions: 5 } });
  const phones = Array.from({ length: 6 }, (_, i) => `555-010${i}`).join('~');
  const text = hostileOrder(1, { controlId: 'REPS1' }).replace(
    '|DOE^JOHN||19700101|M',
    `|DOE^JOHN||19700101|M|||||${phones}`,
  );
  const ack = await setup.client.exchange(frame(text));
  assertErr(t, ack, 'PID^1^13', /PID-13 has more than 5 repetitions; the limit maxRepetitions is 5/);
  await assertStoredNotSent(t, setup, 'REPS1', /maxRepetitions/);
});

test('a message past maxSegments is answered AE naming the limit and the first segment past it', async (t) => {
  const setup = await startChannel(t, { messageLimits: { maxSegments: 8 } });
  const notes = Array.from({ length: 6 }, (_, i) => `NTE|${i + 1}||note ${i + 1}`).join('\r');
  const ack = await setup.client.exchange(frame(`${hostileOrder(1, { controlId: 'SEGS1' })}${notes}\r`));
  assertErr(t, ack, 'NTE^5', /the message has 10 segments; the limit maxSegments is 8/);
  await assertStoredNotSent(t, setup, 'SEGS1', /maxSegments/);
});

test('a message past maxFrameBytes is answered AE naming the limit, its head stored as errored', async (t) => {
  const setup = await startChannel(t, { maxFrameBytes: 2048 });
  const ack = await setup.client.exchange(frame(hostileOrder(1000, { controlId: 'BYTES1' })));
  t.is(ack.get('MSA-1'), 'AE');
  t.is(ack.get('MSA-2'), 'BYTES1');
  t.regex(ack.get('ERR-8') ?? '', /the limit maxFrameBytes is 2048/);
  await assertStoredNotSent(t, setup, 'BYTES1', /maxFrameBytes is 2048 \(only its first \d+ bytes are kept\)/);
});

test('limits within their ranges are taken; others are refused with their path', (t) => {
  const parse = (messageLimits: unknown) =>
    mllpSourceType.parseSettings({ port: 6661, messageLimits }, 'source.settings');
  t.deepEqual(parse(undefined).messageLimits, {
    maxSegments: 5000,
    maxRepetitions: 1000,
    maxIdentifiersPerPatient: 100,
  });
  t.deepEqual(parse({ maxRepetitions: 20 }).messageLimits, {
    maxSegments: 5000,
    maxRepetitions: 20,
    maxIdentifiersPerPatient: 100,
  });
  t.throws(() => parse({ maxIdentifiersPerPatient: 5000 }), {
    message: /source\.settings\.messageLimits\.maxIdentifiersPerPatient/,
  });
  t.throws(() => parse({ maxSegments: 0 }), { message: /source\.settings\.messageLimits\.maxSegments/ });
  t.throws(() => parse({ maxFields: 10 }), { message: /source\.settings\.messageLimits.*maxFields/ });
});
