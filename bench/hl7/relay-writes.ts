// The store work a queued destination adds to a message, written as the hub writes it: the ingest row's message
// is one insert; the relay row's message is inserted with its queue item in the same write group (pipeline.ts),
// read back as a head (50 at a time, as the queue worker reads), and, once sent, its delivery recorded on the
// message and the item removed, issued together (sent-recorder.ts). Each store is fresh; writes go in groups of
// 8 issued together (8 connections' worth of one commit; the recorder's groups are what was sent during the
// previous commit, a few deliveries). The record is also timed without the removal, on a store of its own, to
// split the two. Timed by the CPU of this thread, the event loop that the hub rows' main-thread column counts:
// what each step costs that loop, not how long it waits.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { MessageStore, type ProcessingOutcome } from '../../channels/message-store.ts';
import { DeliveryQueue, type QueueItem } from '../../channels/queue.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';

/** µs of main-thread CPU per message. */
export interface RelayWrites {
  /** The message alone (no destination): the ingest row's write. */
  ingestWrite: number;
  /** The message with its queued delivery and its queue item, in one write group. */
  relayWrite: number;
  /** Reading the items back as heads. */
  heads: number;
  /** The delivery recorded on the message and the item removed, issued together. */
  record: number;
  /** The delivery recorded on the message alone. */
  recordState: number;
}

const group = 8;
const run = 50;
const ack = 'MSH|^~\\&|RIS|RSO|HUB|RSO|20261207120000||ACK^O01|A1|P|2.5\rMSA|AA|C1\r';

async function cpuPerMessage(count: number, work: () => Promise<void>): Promise<number> {
  const start = process.threadCpuUsage();
  await work();
  const used = process.threadCpuUsage(start);
  return (used.user + used.system) / count;
}

function groups<T>(list: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
}

async function withStore<T>(parent: string, work: (messages: MessageStore, queue: DeliveryQueue) => Promise<T>) {
  const dir = await mkdtemp(path.join(parent, 'relay-writes-'));
  const store = new EmbeddedStore(path.join(dir, 'hub.sqlite'));
  try {
    const messages = new MessageStore(store.db);
    const queue = new DeliveryQueue(store.db);
    await Promise.all([messages.open(), queue.open()]);
    return await work(messages, queue);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function measureRelayWrites(parent: string, count: number): Promise<RelayWrites> {
  // The order the benchmark's senders send (sender-child.ts), with a control id of its own per message.
  const template = (
    await readFile(path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'hl7', 'orm-o01.hl7'))
  ).toString('latin1');
  const insert = (messages: MessageStore, id: string, i: number, relayed: boolean): Promise<void> => {
    const raw = template.replace('MSG00001', `W${id}`);
    const outcome: ProcessingOutcome = {
      state: 'processed',
      index: { messageType: 'ORM^O01', controlId: `W${id}`, patientId: `P${i}`, orderNumber: `O${id}` },
      mapped: raw,
      deliveries: relayed ? [{ state: 'queued', content: raw }] : [],
    };
    const message = { raw, dataType: 'HL7V2', source: { remote: '127.0.0.1' } };
    const destinationNames = relayed ? ['ris'] : [];
    return messages.insertMessage({ channelId: 'relay', revision: 1, message, destinationNames }, id, outcome);
  };

  const ingestWrite = await withStore(parent, (messages) => {
    const ids = Array.from({ length: count }, () => messages.newId());
    return cpuPerMessage(count, async () => {
      for (const some of groups(ids, group)) await Promise.all(some.map((id, i) => insert(messages, id, i, false)));
    });
  });

  const relay = (messages: MessageStore, queue: DeliveryQueue, withRemoval: boolean) =>
    relayRound(messages, queue, count, template, insert, withRemoval);
  const full = await withStore(parent, (messages, queue) => relay(messages, queue, true));
  const stateOnly = await withStore(parent, (messages, queue) => relay(messages, queue, false));
  return {
    ingestWrite,
    relayWrite: full.relayWrite,
    heads: full.heads,
    record: full.record,
    recordState: stateOnly.record,
  };
}

type Insert = (messages: MessageStore, id: string, i: number, relayed: boolean) => Promise<void>;

/** The relay's writes on one store: the message with its item, the heads, the record (with the removal or not). */
async function relayRound(
  messages: MessageStore,
  queue: DeliveryQueue,
  count: number,
  template: string,
  insert: Insert,
  withRemoval: boolean,
): Promise<{ relayWrite: number; heads: number; record: number }> {
  const ids = Array.from({ length: count }, () => messages.newId());
  const relayWrite = await cpuPerMessage(count, async () => {
    for (const some of groups(ids, group)) {
      await Promise.all([
        ...some.map((id, i) => insert(messages, id, i, true)),
        queue.enqueue(
          some.map((messageId) => ({
            channelId: 'relay',
            destination: 'ris',
            destinationIndex: 0,
            messageId,
            content: template.replace('MSG00001', `W${messageId}`),
            dataType: 'HL7V2',
          })),
        ),
      ]);
    }
  });
  const items: QueueItem[] = [];
  const heads = await cpuPerMessage(count, async () => {
    let after: number | undefined;
    for (;;) {
      const next = await queue.heads('relay', 'ris', run, after);
      if (next.length === 0) break;
      items.push(...next);
      after = next.at(-1)!.seq;
    }
  });
  const record = await cpuPerMessage(count, async () => {
    for (const some of groups(items, group)) {
      const update = { state: 'sent' as const, attempts: 1, lastError: null, response: ack };
      await Promise.all([
        messages.updateDeliveries(some.map((item) => ({ id: item.messageId, destinationIndex: 0, update }))),
        withRemoval ? queue.removeMany(some.map((item) => item._id)) : undefined,
      ]);
    }
  });
  return { relayWrite, heads, record };
}
