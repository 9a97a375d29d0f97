// The sent recorder on the embedded store: a run's deliveries are recorded together when the run ends, each
// delivery is recorded once, and nothing added is left unrecorded by settled().
import test from 'ava';
import path from 'node:path';
import { MessageStore } from '../../channels/message-store.ts';
import { DeliveryQueue, type QueueItem } from '../../channels/queue.ts';
import { SentRecorder, type SentDelivery } from '../../channels/sent-recorder.ts';
import { createLogger } from '../../runtime/log.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';
import { tempDir } from './harness.ts';

async function setup(t: import('ava').ExecutionContext, count: number) {
  const tmp = await tempDir('sent-recorder');
  const store = new EmbeddedStore(path.join(tmp.dir, 'hub.sqlite'));
  t.teardown(async () => {
    await store.close();
    await tmp.remove();
  });
  const messages = new MessageStore(store.db);
  const queue = new DeliveryQueue(store.db);
  await Promise.all([messages.open(), queue.open()]);
  const ids = Array.from({ length: count }, () => messages.newId());
  for (const id of ids) {
    const message = { raw: `{"id":"${id}"}`, dataType: 'json', source: {} };
    const outcome = {
      state: 'processed' as const,
      index: {},
      mapped: message.raw,
      deliveries: [{ state: 'queued' as const, content: message.raw }],
    };
    await messages.insertMessage({ channelId: 'c', revision: 1, message, destinationNames: ['out'] }, id, outcome);
  }
  await queue.enqueue(
    ids.map((messageId) => ({
      channelId: 'c',
      destination: 'out',
      destinationIndex: 0,
      messageId,
      content: '{}',
      dataType: 'json',
    })),
  );
  const items = await queue.heads('c', 'out', count);
  const recorded: SentDelivery[] = [];
  const recorder = new SentRecorder({
    queue,
    messages,
    log: createLogger({ test: 'sent-recorder' }),
    recorded: (d) => recorded.push(d),
  });
  const sent = (item: QueueItem): SentDelivery => ({ item, attempts: 1, response: `ACK ${item.messageId}` });
  return { store, messages, queue, items, recorder, recorded, sent };
}

test('a run is recorded as one commit when it ends, not a commit per delivery', async (t) => {
  const { store, messages, queue, items, recorder, recorded, sent } = await setup(t, 10);
  for (const item of items) recorder.add(sent(item), true);
  // Held for the end of the run: still queued, and the worker must know its items are not recorded yet.
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(recorded.length, 0);
  t.true(recorder.busy);
  t.is(await queue.depth('c', 'out'), 10);

  const commitsBefore = store.commits;
  recorder.flush();
  await recorder.settled();
  t.is(store.commits - commitsBefore, 1, 'the ten message updates and item removals share one commit');
  t.false(recorder.busy);
  t.is(await queue.depth('c', 'out'), 0);
  t.deepEqual(
    recorded.map((d) => d.item.messageId),
    items.map((i) => i.messageId),
  );
  for (const item of items) {
    const doc = await messages.get(item.messageId);
    t.is(doc?.destinations[0]?.state, 'sent');
    t.is(doc?.destinations[0]?.response, `ACK ${item.messageId}`);
  }
});

test('a long run is recorded every 50 deliveries, so a crash re-sends at most one run', async (t) => {
  const { queue, items, recorder, sent } = await setup(t, 120);
  for (const item of items) recorder.add(sent(item), true);
  // Two groups of 50 went without a flush; the last 20 wait for the end of the run.
  for (let i = 0; i < 100 && (await queue.depth('c', 'out')) > 20; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(await queue.depth('c', 'out'), 20);
  await recorder.settled();
  t.is(await queue.depth('c', 'out'), 0);
});

test('a delivery outside a run (an unordered destination, a channel answering after it) is recorded at once', async (t) => {
  const { queue, items, recorder, recorded, sent } = await setup(t, 2);
  recorder.add(sent(items[0]!));
  for (let i = 0; i < 100 && recorded.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(recorded.length, 1);
  t.is(await queue.depth('c', 'out'), 1);
  recorder.add(sent(items[1]!), true);
  await recorder.settled();
  t.is(recorded.length, 2);
});
