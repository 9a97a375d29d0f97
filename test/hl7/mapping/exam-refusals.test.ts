// What a facility's RIS hears back for an order the hub cannot take, end to end on real loopback MLLP sockets:
// a channel with the `mllp` source, the `rso-exams` destination and a copy to a second MLLP receiver (the RIS).
// A refused order is answered AE or AR with an ERR naming the segment and field (ch. 2.9.2, table 0357), is
// stored as an error for the analyst, and reaches neither the exams nor the RIS; a good order is answered AA
// once stored. A channel may also answer after a named destination, with that destination's outcome.
import test, { type ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { registerBuiltinConnectors } from '../../../channels/builtin-connectors.ts';
import { parseChannelDefinition } from '../../../channels/definition-schema.ts';
import { ChannelEngine } from '../../../channels/engine.ts';
import type { MessageDoc } from '../../../channels/message-store.ts';
import { ChannelRegistry } from '../../../channels/registry.ts';
import { registerHl7Connectors, registerHl7ExamMapping } from '../../../hl7/register.ts';
import type { Hl7Message } from '../../../hl7/message.ts';
import { freePort } from '../../support/hub-process.ts';
import { until } from '../../support/channels.ts';
import { MllpTestClient, MllpTestListener, type ListenerAnswer } from '../mllp-peer.ts';
import { mappingFixtures, openMappingHub, quietLog } from './exam-hub.ts';

const channelId = 'valley-orders';

async function startChannel(
  t: ExecutionContext,
  options: { response?: unknown; ris?: (message: Hl7Message) => ListenerAnswer } = {},
) {
  const { store, exams } = await openMappingHub(t);
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registerHl7Connectors(registry);
  registerHl7ExamMapping(registry, exams);
  const ris = await MllpTestListener.start(options.ris ?? (() => 'AA'));
  const engine = new ChannelEngine({ db: store.db, registry, log: quietLog, pollIntervalMs: 50 });
  t.teardown(async () => {
    await engine.stop();
    await ris.stop();
  });
  await engine.start();
  const port = await freePort();
  const retry = { initialDelayMs: 50, maxDelayMs: 200, multiplier: 2 };
  const definition = parseChannelDefinition(
    {
      id: channelId,
      name: 'Valley orders to exams, copied to the RIS',
      source: { type: 'mllp', settings: { host: '127.0.0.1', port, messageTypes: ['ORM^O01', 'ADT^A08'] } },
      destinations: [
        {
          name: 'exams',
          connector: { type: 'rso-exams', settings: { timeZone: 'America/New_York' } },
          retry,
          maxAttempts: 3,
        },
        {
          name: 'ris',
          connector: { type: 'mllp', settings: { host: '127.0.0.1', port: ris.port, ackTimeoutMs: 5000 } },
          retry,
          maxAttempts: 3,
        },
      ],
      ...(options.response === undefined ? {} : { response: options.response }),
    },
    registry,
  );
  const [status] = await engine.deploy({ definition, revision: 0 });
  t.is(status?.status, 'deployed', status?.error);
  const client = await MllpTestClient.connect(port);
  t.teardown(() => client.socket.destroy());
  return { engine, exams, ris, client };
}

function fixture(name: string): Promise<Buffer> {
  return readFile(path.join(mappingFixtures, name));
}

/** The fixture with another MSH-10 and ORC-1: the same order sent again as a change or a cancel. */
function asOrderControl(payload: Buffer, controlId: string, orderControl: string): Buffer {
  const text = payload
    .toString('latin1')
    .replace(/^(MSH(?:\|[^|\r]*){8})\|[^|\r]*\|/, `$1|${controlId}|`)
    .replace(/\rORC\|NW\|/, `\rORC|${orderControl}|`);
  return Buffer.from(text, 'latin1');
}

async function storedMessage(engine: ChannelEngine, controlId: string): Promise<MessageDoc | null> {
  const found = await engine.searchMessages({ channelId, controlId });
  return found.items[0] ? engine.getMessage(found.items[0]._id) : null;
}

async function settled(engine: ChannelEngine, controlId: string, destination: number): Promise<MessageDoc> {
  let message: MessageDoc | null = null;
  await until(
    async () => {
      message = await storedMessage(engine, controlId);
      const state = message?.destinations[destination]?.state;
      return state === 'sent' || state === 'error';
    },
    60_000,
    `${controlId} settled`,
  );
  return message!;
}

interface RefusalCase {
  fixture: string;
  controlId: string;
  code: 'AE' | 'AR';
  reason: string;
  /** ERR-1 (ELD, v2.3/2.4) or ERR-2 and ERR-3 (ERL and CWE, v2.5 on), encoded. */
  err: { 'ERR-1': string } | { 'ERR-2': string; 'ERR-3': string };
}

const refusals: RefusalCase[] = [
  {
    fixture: 'orders/orm-error-unknown-facility.hl7',
    controlId: 'ORM-ERROR-UNKNOWN-FA',
    code: 'AR',
    reason: "MSH-4: unknown sending facility 'NOWHERE HOSPITAL'",
    err: { 'ERR-1': 'MSH^1^4^103&Table value not found&HL70357' },
  },
  {
    fixture: 'orders/orm-error-no-pid.hl7',
    controlId: 'ORM-ERROR-NO-PID',
    code: 'AR',
    reason: 'PID: the message has no PID segment',
    err: { 'ERR-1': 'PID^1^^100&Segment sequence error&HL70357' },
  },
  {
    fixture: 'orders/orm-error-empty-pid3.hl7',
    controlId: 'ORM-ERROR-EMPTY-PID3',
    code: 'AE',
    reason: 'PID-3 is empty',
    err: { 'ERR-1': 'PID^1^3^101&Required field missing&HL70357' },
  },
  {
    fixture: 'orders/orm-error-no-orc-obr.hl7',
    controlId: 'ORM-ERROR-NO-ORC',
    code: 'AR',
    reason: 'ORC is missing',
    err: { 'ERR-1': 'ORC^1^^100&Segment sequence error&HL70357' },
  },
  {
    fixture: 'orders/orm-error-unsupported-control.hl7',
    controlId: 'ORM-ERROR-UNSUPPORTE',
    code: 'AR',
    reason: "ORC-1: unsupported order control 'XX'",
    err: { 'ERR-1': 'ORC^1^1^103&Table value not found&HL70357' },
  },
  {
    fixture: 'orders/orm-error-ca-unknown-order.hl7',
    controlId: 'ORM-ERROR-CA-UNKNOWN',
    code: 'AE',
    reason: "ORC-2: no exam at VALLEYGEN with placer number 'VG-NOPE-2'",
    err: { 'ERR-2': 'ORC^1^2', 'ERR-3': '204^Unknown key identifier^HL70357' },
  },
  {
    fixture: 'orders/orm-error-bad-birthdate.hl7',
    controlId: 'ORM-ERROR-BAD-BIRTHD',
    code: 'AE',
    reason: 'PID-7: not an HL7 date',
    err: { 'ERR-1': 'PID^1^7^102&Data type error&HL70357' },
  },
];

test('each order the hub cannot take is answered AE or AR with an ERR naming segment and field, kept as an error and sent nowhere; a good order is answered AA once stored', async (t) => {
  const { engine, exams, ris, client } = await startChannel(t);
  for (const c of refusals) {
    const ack = await client.exchange(await fixture(c.fixture));
    t.is(ack.get('MSA-1'), c.code, `${c.fixture}: ${ack.get('MSA-3')}`);
    t.is(ack.get('MSA-2'), c.controlId);
    t.true((ack.get('MSA-3') ?? '').includes(c.reason), `${c.fixture}: MSA-3 "${ack.get('MSA-3')}"`);
    for (const [field, value] of Object.entries(c.err)) t.is(ack.getEncoded(field), value, `${c.fixture}: ${field}`);
    const stored = await storedMessage(engine, c.controlId);
    t.is(stored?.state, 'error', `${c.fixture} is stored as an error`);
    t.true(stored?.error?.includes(c.reason), `${c.fixture}: stored reason "${stored?.error}"`);
    t.deepEqual(
      stored?.destinations.map((d) => d.state),
      ['received', 'received'],
      `${c.fixture} was queued for no destination`,
    );
  }
  t.is(
    (await engine.searchMessages({ channelId, state: 'error' })).total,
    refusals.length,
    'the analyst finds every refused message',
  );

  const ack = await client.exchange(await fixture('orders/orm-nw-v251.hl7'));
  t.is(ack.get('MSA-1'), 'AA');
  t.is(ack.getEncoded('ERR-1'), undefined);
  t.is((await storedMessage(engine, 'VG251-1'))?.state, 'processed', 'stored before the AA');
  const applied = await settled(engine, 'VG251-1', 0);
  t.is(applied.destinations[0]?.state, 'sent', applied.destinations[0]?.lastError ?? '');
  await settled(engine, 'VG251-1', 1);
  // The RIS queue is in order: had a refused message been queued for it, the RIS would have seen it first.
  t.deepEqual(
    ris.received.map((m) => m.get('MSH-10')),
    ['VG251-1'],
  );
  t.is((await exams.findExams({ limit: 0 })).total, 1);
  t.is(await exams.patients.findByIdentifier('VALLEYGEN', 'V1'), undefined, 'no refused message created its patient');
});

test('a change right behind its new order is accepted while the order still waits in the exams queue; a cancel of an order nobody sent is not', async (t) => {
  const { engine, exams, client } = await startChannel(t);
  await engine.pauseDestination(channelId, 'exams');
  const nw = await fixture('orders/orm-nw-v251.hl7');
  t.is((await client.exchange(nw)).get('MSA-1'), 'AA');
  const xo = await client.exchange(asOrderControl(nw, 'VG251-XO', 'XO'));
  t.is(xo.get('MSA-1'), 'AA', `the XO finds its order in the queue: ${xo.get('MSA-3')}`);
  const unknown = await client.exchange(await fixture('orders/orm-error-ca-unknown-order.hl7'));
  t.is(unknown.get('MSA-1'), 'AE');
  t.is(
    await exams.findByIdentifier('VALLEYGEN', 'placer', 'VG-PLC-51', 'VALLEY_RIS'),
    undefined,
    'the NW is not applied yet',
  );

  await engine.resumeDestination(channelId, 'exams');
  const changed = await settled(engine, 'VG251-XO', 0);
  t.is(changed.destinations[0]?.state, 'sent', changed.destinations[0]?.lastError ?? '');
  t.truthy(await exams.findByIdentifier('VALLEYGEN', 'placer', 'VG-PLC-51', 'VALLEY_RIS'));
});

test('a channel that answers after the RIS answers with the RIS outcome: AA once the RIS took it, AE when the RIS rejected it', async (t) => {
  // A wait far longer than any delivery here: on a loaded machine a timeout would answer 'queued' (AA) instead.
  const { ris, client } = await startChannel(t, {
    response: { afterDestination: 'ris', timeoutMs: 120_000 },
    ris: (message) => (message.get('MSH-10') === 'VG251-REJECT' ? 'AR' : 'AA'),
  });
  const nw = await fixture('orders/orm-nw-v251.hl7');
  const accepted = await client.exchange(nw);
  t.is(accepted.get('MSA-1'), 'AA');
  t.deepEqual(
    ris.received.map((m) => m.get('MSH-10')),
    ['VG251-1'],
    'the RIS had the message when the AA was sent',
  );

  const rejected = await client.exchange(asOrderControl(nw, 'VG251-REJECT', 'XO'));
  t.is(rejected.get('MSA-1'), 'AE');
  t.regex(rejected.get('MSA-3') ?? '', /^ris: the receiver rejected the message/);
  t.is(ris.received.length, 2);
});

test('a channel that answers after the exams answers AE for a change the exams refuse (an XO of a cancelled exam)', async (t) => {
  const { client } = await startChannel(t, { response: { afterDestination: 'exams', timeoutMs: 120_000 } });
  const nw = await fixture('orders/orm-nw-v251.hl7');
  t.is((await client.exchange(nw)).get('MSA-1'), 'AA');
  t.is((await client.exchange(asOrderControl(nw, 'VG251-CA', 'CA'))).get('MSA-1'), 'AA');
  // The XO changes the priority (TQ1-9 S to R): an XO that changes nothing is a no-op even on a cancelled exam.
  const late = await client.exchange(
    Buffer.from(asOrderControl(nw, 'VG251-LATE-XO', 'XO').toString('latin1').replace('||S\r', '||R\r'), 'latin1'),
  );
  t.is(late.get('MSA-1'), 'AE');
  t.regex(late.get('MSA-3') ?? '', /status cancelled -> cancelled is not allowed/);
});
