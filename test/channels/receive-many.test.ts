// ChannelPipeline.receiveMany when one message of a batch cannot be stored. A disk that fails one write of a
// group cannot be staged here, so the message store is the real one over a real embedded store with its
// insertMessage failing for one marked message (the only stand-in in this test). What must hold: the messages
// before it are stored and queued in order; from it on nothing is queued, each is answered as not stored (the
// source reads them again), and one stored after it is marked errored rather than left queued without an item,
// which the recovery at deploy would queue behind the source's second copy.
import test from 'ava';
import path from 'node:path';
import { parseChannelDefinition } from '../../channels/definition-schema.ts';
import { MessageStore } from '../../channels/message-store.ts';
import { ChannelPipeline } from '../../channels/pipeline.ts';
import { DeliveryQueue } from '../../channels/queue.ts';
import { TestPeers, channelJson, jsonMessage, openTestStore, peerDestination, quietLog, tempDir } from './harness.ts';

test('a batch stops being queued at the first message that cannot be stored', async (t) => {
  const tmp = await tempDir('many');
  const store = await openTestStore(path.join(tmp.dir, 'data'));
  t.teardown(async () => {
    await store.close();
    await tmp.remove();
  });
  const registry = new TestPeers().registry();
  const definition = parseChannelDefinition(channelJson('batch', [peerDestination('ris', 'ris')]), registry);
  const messages = new MessageStore(store.db);
  const queue = new DeliveryQueue(store.db);
  const insert = messages.insertMessage.bind(messages);
  messages.insertMessage = (input, id, outcome) =>
    input.message.raw.includes('"B3"') ? Promise.reject(new Error('disk full (test)')) : insert(input, id, outcome);
  const pipeline = new ChannelPipeline({
    definition,
    revision: 1,
    registry,
    messages,
    queue,
    log: quietLog,
    wake() {},
  });

  const batch = ['B1', 'B2', 'B3', 'B4'].map((tag) => jsonMessage({ orderNumber: tag }));
  const outcomes = await pipeline.receiveMany(batch);
  t.deepEqual(
    outcomes.map((o) => o.status),
    ['accepted', 'accepted', 'error', 'error'],
  );
  t.true(
    outcomes.slice(2).every((o) => o.status === 'error' && o.messageId === undefined),
    'answered as not stored',
  );

  const heads = await queue.heads('batch', 'ris', 10);
  t.deepEqual(
    heads.map((item) => (JSON.parse(item.content) as { orderNumber: string }).orderNumber),
    ['B1', 'B2'],
    'only what came before the failure is queued, in order',
  );
  const found = await messages.search({ channelId: 'batch' });
  const stored = await Promise.all(found.items.map((m) => messages.get(m._id)));
  t.is(stored.length, 3, 'B1, B2 and B4 were written; B3 was not');
  const b4 = stored.find((m) => m?.raw.includes('"B4"'));
  t.like(b4?.destinations[0], { state: 'error' });
  t.regex(b4?.destinations[0]?.lastError ?? '', /not queued/);
});
