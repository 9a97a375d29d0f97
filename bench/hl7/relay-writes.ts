// The store work a queued destination adds to a message, each kind of write alone: the relay row's message is
// one insert (as in the ingest row) plus its queue item written, read back as a head, its delivery recorded on
// the message and the item removed. Each runs over the same messages on a fresh embedded store, in groups of 8
// issued together (8 connections' worth of one commit), and is timed by the CPU of this thread, the event loop
// that the hub rows' main-thread column counts, so the figures say what each write costs that loop, not how long
// it waits.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { MessageStore, type ProcessingOutcome } from '../../channels/message-store.ts';
import { DeliveryQueue, type QueueItem } from '../../channels/queue.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';

export interface RelayWrites {
  insertMessage: number;
  enqueue: number;
  heads: number;
  recordSent: number;
  removeItem: number;
}

const group = 8;
const ack = 'MSH|^~\\&|RIS|RSO|HUB|RSO|20261207120000||ACK^O01|A1|P|2.5\rMSA|AA|C1\r';

async function cpuPerOp(count: number, work: () => Promise<void>): Promise<number> {
  const start = process.threadCpuUsage();
  await work();
  const used = process.threadCpuUsage(start);
  return (used.user + used.system) / count;
}

/** µs of CPU per message for each write, on `count` messages. */
export async function measureRelayWrites(parent: string, count: number): Promise<RelayWrites> {
  // The order the benchmark's senders send (sender-child.ts), with a control id of its own per message.
  const template = (
    await readFile(path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'hl7', 'orm-o01.hl7'))
  ).toString('latin1');
  const ormMessage = (controlId: string): string => template.replace('MSG00001', controlId);
  const dir = await mkdtemp(path.join(parent, 'relay-writes-'));
  const store = new EmbeddedStore(path.join(dir, 'hub.sqlite'));
  try {
    const messages = new MessageStore(store.db);
    const queue = new DeliveryQueue(store.db);
    await Promise.all([messages.open(), queue.open()]);
    const ids = Array.from({ length: count }, () => messages.newId());
    const groups = <T>(list: readonly T[]): T[][] =>
      Array.from({ length: Math.ceil(list.length / group) }, (_, i) => list.slice(i * group, (i + 1) * group));

    const insertMessage = await cpuPerOp(count, async () => {
      for (const some of groups(ids)) {
        await Promise.all(
          some.map((id, i) => {
            const raw = ormMessage(`W${id}`);
            const outcome: ProcessingOutcome = {
              state: 'processed',
              index: { messageType: 'ORM^O01', controlId: `W${id}`, patientId: `P${i}`, orderNumber: `O${id}` },
              mapped: raw,
              deliveries: [{ state: 'queued', content: raw }],
            };
            const message = { raw, dataType: 'HL7V2', source: { remote: '127.0.0.1' } };
            return messages.insertMessage(
              { channelId: 'relay', revision: 1, message, destinationNames: ['ris'] },
              id,
              outcome,
            );
          }),
        );
      }
    });
    const enqueue = await cpuPerOp(count, async () => {
      for (const some of groups(ids)) {
        await queue.enqueue(
          some.map((messageId) => ({
            channelId: 'relay',
            destination: 'ris',
            destinationIndex: 0,
            messageId,
            content: ormMessage(`W${messageId}`),
            dataType: 'HL7V2',
          })),
        );
      }
    });
    const items: QueueItem[] = [];
    // As the queue worker reads them: 50 heads at a time, each read starting after the last one sent.
    const heads = await cpuPerOp(count, async () => {
      let after: number | undefined;
      for (;;) {
        const next = await queue.heads('relay', 'ris', 50, after);
        if (next.length === 0) break;
        items.push(...next);
        after = next.at(-1)!.seq;
      }
    });
    const recordSent = await cpuPerOp(count, async () => {
      for (const some of groups(items)) {
        await messages.updateDeliveries(
          some.map((item) => ({
            id: item.messageId,
            destinationIndex: 0,
            update: { state: 'sent', attempts: 1, lastError: null, response: ack },
          })),
        );
      }
    });
    const removeItem = await cpuPerOp(count, async () => {
      for (const some of groups(items)) await queue.removeMany(some.map((item) => item._id));
    });
    return { insertMessage, enqueue, heads, recordSent, removeItem };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
