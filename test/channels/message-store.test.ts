import test from 'ava';
import path from 'node:path';
import type { MessageDoc } from '../../channels/message-store.ts';
import { renderMetrics } from '../../http/metrics.ts';
import type { EmbeddedStore } from '../../store/embedded/db.ts';
import { TestPeers, channelJson, jsonMessage, peerDestination, startEngine, tempDir, waitFor } from './harness.ts';

async function setup(t: import('ava').ExecutionContext) {
  const tmp = await tempDir('msgs');
  const peers = new TestPeers();
  const started = await startEngine(peers, path.join(tmp.dir, 'data'));
  t.teardown(async () => {
    await started.close();
    await tmp.remove();
  });
  return { ...started, peers };
}

const idOf = (outcome: { status: string; messageId?: string }) => outcome.messageId ?? '';

test('search by indexed fields, state, channel and time, with paging', async (t) => {
  const { engine, peers } = await setup(t);
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  await engine.saveDefinition(channelJson('adt', [peerDestination('ris', 'ris')]));
  for (let n = 1; n <= 5; n++) {
    await peers.receive(
      'orders',
      jsonMessage({
        messageType: 'ORM^O01',
        controlId: `C${n}`,
        patientId: n % 2 ? 'MRN-ODD' : 'MRN-EVEN',
        accession: `ACC-${n}`,
      }),
    );
  }
  await peers.receive('adt', {
    ...jsonMessage({ messageType: 'ADT^A08', patientId: 'MRN-ODD' }),
    index: { controlId: 'FROM-SOURCE' },
  });
  await waitFor('all sent', () => peers.peer('ris').delivered.length === 6);

  t.is((await engine.searchMessages({ patientId: 'MRN-ODD' })).total, 4);
  t.is((await engine.searchMessages({ channelId: 'orders', patientId: 'MRN-ODD' })).total, 3);
  t.deepEqual(
    (await engine.searchMessages({ accession: 'ACC-4' })).items.map((m) => m.controlId),
    ['C4'],
  );
  t.is(
    (await engine.searchMessages({ controlId: 'FROM-SOURCE' })).total,
    1,
    "the source's index wins over the data type's",
  );
  t.is((await engine.searchMessages({ messageType: 'ADT^A08' })).total, 1);
  await waitFor('sent states', async () => (await engine.searchMessages({ state: 'sent' })).total === 6);

  const page1 = await engine.searchMessages({ channelId: 'orders', limit: 2 });
  const page2 = await engine.searchMessages({ channelId: 'orders', limit: 2, skip: 2 });
  t.is(page1.total, 5);
  t.deepEqual(
    page1.items.map((m) => m.controlId),
    ['C5', 'C4'],
    'newest first',
  );
  t.deepEqual(
    page2.items.map((m) => m.controlId),
    ['C3', 'C2'],
  );
  t.is((await engine.searchMessages({ receivedFrom: new Date(Date.now() + 60_000) })).total, 0);
  t.is(
    (
      await engine.searchMessages({
        receivedTo: new Date(Date.now() + 60_000),
        receivedFrom: new Date(Date.now() - 60_000),
      })
    ).total,
    6,
  );
});

test('reprocess runs the raw content again as a new message linked to the original', async (t) => {
  const { engine, peers } = await setup(t);
  await engine.saveDefinition(
    channelJson('orders', [peerDestination('ris', 'ris')], { map: { mappings: [{ target: 'version', value: 'v1' }] } }),
  );
  const original = idOf(await peers.receive('orders', jsonMessage({ n: 1 })));
  await waitFor('first delivery', () => peers.peer('ris').delivered.length === 1);
  // The mapping was wrong; a new revision fixes it, and the message is reprocessed with it.
  await engine.saveDefinition(
    channelJson('orders', [peerDestination('ris', 'ris')], { map: { mappings: [{ target: 'version', value: 'v2' }] } }),
  );
  const outcome = await engine.reprocess(original);
  t.is(outcome.status, 'accepted');
  await waitFor('second delivery', () => peers.peer('ris').delivered.length === 2);
  t.deepEqual(
    peers.peer('ris').delivered.map((m) => (JSON.parse(m.content) as { version: string }).version),
    ['v1', 'v2'],
  );
  const copy = await engine.getMessage(idOf(outcome));
  t.like(copy, { reprocessOf: original, revision: 2, raw: '{"n":1}' });
  t.not(idOf(outcome), original);
});

test('resend queues the stored destination content again for one destination', async (t) => {
  const { engine, peers } = await setup(t);
  await engine.saveDefinition(channelJson('reports', [peerDestination('ehr', 'ehr'), peerDestination('fax', 'fax')]));
  const id = idOf(await peers.receive('reports', jsonMessage({ n: 7 })));
  await waitFor(
    'both sent',
    () => peers.peer('ehr').delivered.length === 1 && peers.peer('fax').delivered.length === 1,
  );
  await engine.resend(id, 'fax');
  await waitFor('the resend', () => peers.peer('fax').delivered.length === 2);
  t.is(peers.peer('ehr').delivered.length, 1, 'other destinations are not resent');
  t.is(peers.peer('fax').delivered[1]?.content, peers.peer('fax').delivered[0]?.content);
  await waitFor('sent again', async () => (await engine.getMessage(id))?.destinations[1]?.state === 'sent');
  await t.throwsAsync(engine.resend(id, 'nowhere'), { message: `message '${id}' has no destination 'nowhere'` });
});

test('retention deletes messages older than the channel setting, errored ones included', async (t) => {
  const { engine, peers, store } = await setup(t);
  await engine.saveDefinition(
    channelJson('short', [peerDestination('ris', 'ris')], {
      retentionDays: 2,
      map: { script: 'if (msg.fail) throw new Error("bad");' },
    }),
  );
  await engine.saveDefinition(channelJson('forever', [peerDestination('ris', 'ris')], { retentionDays: 0 }));
  const oldOk = idOf(await peers.receive('short', jsonMessage({ n: 1 })));
  const oldError = idOf(await peers.receive('short', jsonMessage({ fail: true })));
  const recent = idOf(await peers.receive('short', jsonMessage({ n: 2 })));
  const kept = idOf(await peers.receive('forever', jsonMessage({ n: 3 })));
  const messages = store.db.collection<MessageDoc>('messages');
  const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
  await messages.updateMany({ _id: { $in: [oldOk, oldError, kept] } }, { $set: { receivedAt: threeDaysAgo } });

  const deleted = await engine.applyRetention();
  t.deepEqual(deleted, { short: 2 });
  t.is(await engine.getMessage(oldOk), null);
  t.is(await engine.getMessage(oldError), null);
  t.truthy(await engine.getMessage(recent));
  t.truthy(await engine.getMessage(kept), 'retention 0 keeps messages for ever');
});

test('the channel overview and metrics show received, errors and queue depth', async (t) => {
  const { engine, peers } = await setup(t);
  peers.peer('ris').down = true;
  await engine.saveDefinition(
    channelJson('overview', [peerDestination('ris', 'ris')], {
      map: { script: 'if (msg.fail) throw new Error("bad");' },
    }),
  );
  await peers.receive('overview', jsonMessage({ n: 1 }));
  await peers.receive('overview', jsonMessage({ fail: true }));
  const [overview] = await engine.listChannels();
  t.like(overview, { id: 'overview', status: 'deployed', revision: 1, received: 2, errors: 1 });
  t.deepEqual(overview?.queues, [{ destination: 'ris', depth: 1, paused: false }]);
  await waitFor('a depth sample', () =>
    renderMetrics().includes('hub_channel_queue_depth{channel="overview",destination="ris"} 1'),
  );
  t.regex(renderMetrics(), /hub_channel_messages_received_total\{channel="overview"\} 2/);
  t.regex(renderMetrics(), /hub_channel_processing_errors_total\{channel="overview"\} 1/);
});

test("a channel's errors count its own (map) errors and its failed deliveries, each message once", async (t) => {
  const { engine, peers, store } = await setup(t);
  const lab = peers.peer('lab');
  lab.failWhen = /reject/;
  lab.permanent = true;
  await engine.saveDefinition(
    channelJson('counted', [peerDestination('lab', 'lab')], {
      map: { script: 'if (msg.fail) throw new Error("bad");' },
    }),
  );
  await engine.saveDefinition(channelJson('other', [peerDestination('lab', 'lab')]));
  await peers.receive('counted', jsonMessage({ n: 1 }));
  await peers.receive('counted', jsonMessage({ fail: true }));
  await peers.receive('counted', jsonMessage({ reject: true }));
  await peers.receive('other', jsonMessage({ reject: true }));
  await waitFor('the rejections recorded', async () => (await engine.searchMessages({ state: 'error' })).total === 3);
  const overviews = new Map((await engine.listChannels()).map((o) => [o.id, o]));
  t.like(overviews.get('counted'), { received: 3, errors: 2 });
  t.like(overviews.get('other'), { received: 1, errors: 1 });
  // Every console poll counts these: each must read only the channel's own errors in an index, not its messages
  // (nor every failed delivery of every channel), which grew a poll with the messages stored.
  const messages = (store.db as EmbeddedStore['db']).collection('messages');
  const own = messages.explain({ channelId: 'counted', state: 'error' });
  const deliveries = messages.explain({ 'destinations.state': 'error', channelId: 'counted', state: { $ne: 'error' } });
  t.is(own.index, 'channelId_1_state_1');
  t.is(deliveries.index, 'channelId_1_destinations.state_1');
});
