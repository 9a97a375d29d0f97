import test from 'ava';
import path from 'node:path';
import type { DeliveryEvent } from '../../channels/engine-events.ts';
import { DeliveryQueue, destinationKey } from '../../channels/queue.ts';
import {
  TestPeers,
  channelJson,
  jsonMessage,
  peerDestination,
  sleep,
  startEngine,
  tempDir,
  waitFor,
} from './harness.ts';

async function setup(t: import('ava').ExecutionContext, peers = new TestPeers()) {
  const tmp = await tempDir('queue');
  const dataDir = path.join(tmp.dir, 'data');
  const started = await startEngine(peers, dataDir);
  let current = started;
  t.teardown(async () => {
    await current.close();
    await tmp.remove();
  });
  const restart = async (nextPeers: TestPeers) => {
    await current.close();
    current = await startEngine(nextPeers, dataDir);
    return current;
  };
  return { ...started, peers, restart, dataDir };
}

const numbers = (peer: { delivered: Array<{ content: string }> }) =>
  peer.delivered.map((m) => (JSON.parse(m.content) as { n: number }).n);

test('ordered: an outage blocks the head, then every message arrives once, in order', async (t) => {
  const { engine, peers } = await setup(t);
  const ris = peers.peer('ris');
  ris.down = true;
  await engine.saveDefinition(
    channelJson('orders', [
      peerDestination('ris', 'ris', { retry: { initialDelayMs: 10, maxDelayMs: 40, multiplier: 2 } }),
    ]),
  );
  for (let n = 1; n <= 6; n++) t.is((await peers.receive('orders', jsonMessage({ n }))).status, 'accepted');
  await waitFor('several retries of the head', () => ris.attempts.length >= 4);
  t.deepEqual(new Set(ris.attempts.map((m) => m.messageId)).size, 1, 'only the head is tried while it fails');
  t.deepEqual(ris.attempts.map((m) => m.attempt).slice(0, 4), [1, 2, 3, 4]);
  t.is((await engine.queueDepths('orders'))[0]?.depth, 6);

  ris.down = false;
  await waitFor('all six', () => ris.delivered.length === 6);
  t.deepEqual(numbers(ris), [1, 2, 3, 4, 5, 6]);
  await waitFor('an empty queue', async () => (await engine.queueDepths('orders'))[0]?.depth === 0);
  const { items } = await engine.searchMessages({ channelId: 'orders' });
  t.true(items.every((m) => m.destinations[0]?.state === 'sent'));
  t.true(
    items.find((m) => m.destinations[0]!.attempts > 1)?.destinations[0]?.lastError === null,
    'a later success clears the last error',
  );
});

test('ordered: a backlog longer than one read batch is delivered once, in order, and every delivery is recorded sent', async (t) => {
  const { engine, peers } = await setup(t);
  const ris = peers.peer('ris');
  const sent: string[] = [];
  engine.events.on('delivery-sent', (e) => sent.push(e.messageId));
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  await engine.pauseDestination('orders', 'ris');
  // Received concurrently, as from several MLLP connections: the queue keeps the order they were stored in.
  const outcomes = await Promise.all(
    Array.from({ length: 130 }, (_, i) => peers.receive('orders', jsonMessage({ n: i + 1 }))),
  );
  t.true(outcomes.every((o) => o.status === 'accepted'));
  await engine.resumeDestination('orders', 'ris');
  await waitFor('all delivered and recorded', () => sent.length === 130);
  t.is(ris.delivered.length, 130, 'nothing is sent twice');
  const order = new Map(outcomes.map((o, i) => [o.messageId, i]));
  const delivered = ris.delivered.map((m) => order.get(m.messageId) ?? -1);
  t.deepEqual(
    delivered,
    [...delivered].sort((a, b) => a - b),
    'in queue order',
  );
  t.deepEqual(
    sent,
    ris.delivered.map((m) => m.messageId),
    'recorded in the order sent',
  );
  t.is((await engine.queueDepths('orders'))[0]?.depth, 0);
  t.is(
    (await engine.searchMessages({ channelId: 'orders', destination: 'ris', state: 'sent', limit: 500 })).total,
    130,
  );
});

test('unordered: a failing item is moved aside and the others go ahead', async (t) => {
  const { engine, peers } = await setup(t);
  const pacs = peers.peer('pacs');
  pacs.failWhen = /"bad":true/;
  await engine.saveDefinition(
    channelJson('images', [
      peerDestination('pacs', 'pacs', {
        queue: 'unordered',
        retry: { initialDelayMs: 200, maxDelayMs: 200, multiplier: 1 },
      }),
    ]),
  );
  await peers.receive('images', jsonMessage({ n: 1, bad: true }));
  for (let n = 2; n <= 5; n++) await peers.receive('images', jsonMessage({ n }));
  await waitFor('the four good ones', () => pacs.delivered.length === 4);
  t.deepEqual(numbers(pacs), [2, 3, 4, 5]);
  // The failed attempt of 1 may be recorded just after the others went through: wait for it, then look.
  const queued = async () => (await engine.searchMessages({ channelId: 'images', state: 'queued' })).items[0];
  await waitFor('the failed attempt recorded', async () => (await queued())?.destinations[0]?.lastError !== undefined);
  t.like((await queued())?.destinations[0], { state: 'queued', lastError: 'peer unavailable' });
  pacs.failWhen = undefined;
  await waitFor('the moved-aside one', () => pacs.delivered.length === 5);
  t.deepEqual(numbers(pacs), [2, 3, 4, 5, 1]);
});

test('max attempts: the delivery goes to error with an event, and the queue moves on', async (t) => {
  const { engine, peers } = await setup(t);
  const ehr = peers.peer('ehr');
  ehr.failWhen = /"n":1\b/;
  const errors: DeliveryEvent[] = [];
  engine.events.on('delivery-error', (e) => errors.push(e));
  await engine.saveDefinition(
    channelJson('reports', [
      peerDestination('ehr', 'ehr', { maxAttempts: 3, retry: { initialDelayMs: 5, maxDelayMs: 5, multiplier: 1 } }),
    ]),
  );
  const first = await peers.receive('reports', jsonMessage({ n: 1 }));
  await peers.receive('reports', jsonMessage({ n: 2 }));
  await waitFor('the second delivered', () => ehr.delivered.length === 1);
  t.deepEqual(numbers(ehr), [2]);
  t.is(ehr.attempts.filter((m) => m.content.includes('"n":1')).length, 3);
  t.is(errors.length, 1);
  t.like(errors[0], { channelId: 'reports', destination: 'ehr', attempts: 3, error: 'peer unavailable' });
  const stored = await engine.getMessage(first.status === 'accepted' ? first.messageId : '');
  t.like(stored?.destinations[0], { state: 'error', attempts: 3, lastError: 'peer unavailable' });
  t.is((await engine.searchMessages({ channelId: 'reports', destination: 'ehr', state: 'error' })).total, 1);
});

test('a permanent failure is an error at once, without retries', async (t) => {
  const { engine, peers } = await setup(t);
  const ehr = peers.peer('ehr');
  ehr.down = true;
  ehr.permanent = true;
  await engine.saveDefinition(channelJson('reports', [peerDestination('ehr', 'ehr')]));
  const outcome = await peers.receive('reports', jsonMessage({ n: 1 }));
  const id = outcome.status === 'accepted' ? outcome.messageId : '';
  await waitFor('the error state', async () => (await engine.getMessage(id))?.destinations[0]?.state === 'error');
  t.is(ehr.attempts.length, 1);
  t.is((await engine.getMessage(id))?.destinations[0]?.lastError, 'rejected by peer');
});

test("onExhausted 'pause' pauses the destination and keeps the head for a resume", async (t) => {
  const { engine, peers } = await setup(t);
  const ehr = peers.peer('ehr');
  ehr.down = true;
  const paused: string[] = [];
  engine.events.on('destination-paused', (e) => paused.push(e.destination));
  await engine.saveDefinition(
    channelJson('reports', [
      peerDestination('ehr', 'ehr', {
        maxAttempts: 2,
        onExhausted: 'pause',
        retry: { initialDelayMs: 5, maxDelayMs: 5, multiplier: 1 },
      }),
    ]),
  );
  await peers.receive('reports', jsonMessage({ n: 1 }));
  await peers.receive('reports', jsonMessage({ n: 2 }));
  await waitFor('the pause', () => paused.length === 1);
  t.deepEqual(await engine.queueDepths('reports'), [{ destination: 'ehr', depth: 2, paused: true }]);
  ehr.down = false;
  await engine.resumeDestination('reports', 'ehr');
  await waitFor('both, in order', () => ehr.delivered.length === 2);
  t.deepEqual(numbers(ehr), [1, 2]);
});

test('pause holds deliveries (also across a restart) and resume releases them', async (t) => {
  const peers = new TestPeers();
  const { engine, restart } = await setup(t, peers);
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  await engine.pauseDestination('orders', 'ris');
  await peers.receive('orders', jsonMessage({ n: 1 }));
  await sleep(300);
  t.is(peers.peer('ris').attempts.length, 0, 'nothing is sent while paused');

  const peersAfter = new TestPeers();
  const next = await restart(peersAfter);
  await next.engine.deployActive();
  t.deepEqual(await next.engine.queueDepths('orders'), [{ destination: 'ris', depth: 1, paused: true }]);
  await peersAfter.receive('orders', jsonMessage({ n: 2 }));
  await sleep(300);
  t.is(peersAfter.peer('ris').attempts.length, 0, 'the pause is persisted');
  await next.engine.resumeDestination('orders', 'ris');
  await waitFor('both', () => peersAfter.peer('ris').delivered.length === 2);
  t.deepEqual(numbers(peersAfter.peer('ris')), [1, 2]);
});

test('restart: messages queued when the engine and store closed are delivered after reopening', async (t) => {
  const peers = new TestPeers();
  const { engine, restart } = await setup(t, peers);
  peers.peer('ris').down = true;
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  for (let n = 1; n <= 3; n++) await peers.receive('orders', jsonMessage({ n }));
  await waitFor('a failed attempt', () => peers.peer('ris').attempts.length >= 1);

  const peersAfter = new TestPeers();
  const next = await restart(peersAfter);
  await next.engine.deployActive();
  await waitFor('all three', () => peersAfter.peer('ris').delivered.length === 3);
  t.deepEqual(numbers(peersAfter.peer('ris')), [1, 2, 3]);
  t.is(peers.peer('ris').delivered.length, 0);
});

test('ordered: a destination lock held by another live process is respected; once its lease expires it is taken over', async (t) => {
  const { engine, peers, store } = await setup(t);
  await engine.definitions.save(channelJson('orders', [peerDestination('ris', 'ris')]));
  const locks = store.db.collection<{ _id: string; lockOwner: string | null; lockExpiresAt: Date | null }>(
    'queue_destinations',
  );
  // Another hub process holds the lock (as it would mid-delivery) with a long lease when this one deploys.
  await engine.queue.ensureDestination('orders', 'ris');
  await locks.updateOne(
    { _id: destinationKey('orders', 'ris') },
    { $set: { lockOwner: 'other-host:4242:dead', lockExpiresAt: new Date(Date.now() + 3_600_000) } },
  );
  await engine.deployActive();
  await peers.receive('orders', jsonMessage({ n: 1 }));
  await sleep(300);
  t.is(peers.peer('ris').attempts.length, 0, 'no delivery while another process holds the destination');
  // That process was killed: its lease runs out and nobody renews it.
  await locks.updateOne(
    { _id: destinationKey('orders', 'ris') },
    { $set: { lockExpiresAt: new Date(Date.now() - 1) } },
  );
  await waitFor('the takeover', () => peers.peer('ris').delivered.length === 1);
  const lock = await locks.findOne({ _id: destinationKey('orders', 'ris') });
  t.is(lock?.lockOwner, engine.owner);
});

test('unordered: an item leased by a crashed process is delivered after its lease expires', async (t) => {
  const { engine, peers, store } = await setup(t);
  await engine.saveDefinition(channelJson('images', [peerDestination('pacs', 'pacs', { queue: 'unordered' })]));
  await engine.pauseDestination('images', 'pacs');
  await peers.receive('images', jsonMessage({ n: 1 }));
  const items = store.db.collection<{ _id: string; leaseOwner: string | null; leaseExpiresAt: Date | null }>(
    'queue_items',
  );
  await items.updateMany(
    {},
    { $set: { leaseOwner: 'other-host:4242:dead', leaseExpiresAt: new Date(Date.now() + 3_600_000) } },
  );
  await engine.resumeDestination('images', 'pacs');
  await sleep(300);
  t.is(peers.peer('pacs').attempts.length, 0, 'a live lease is respected');
  await items.updateMany({}, { $set: { leaseExpiresAt: new Date(Date.now() - 1) } });
  await waitFor('the takeover', () => peers.peer('pacs').delivered.length === 1);
  t.is(peers.peer('pacs').delivered.length, 1);
});

test('two engines on one store deliver every ordered message exactly once, in order', async (t) => {
  const tmp = await tempDir('two');
  const dataDir = path.join(tmp.dir, 'data');
  const peers = new TestPeers();
  const a = await startEngine(peers, dataDir, { owner: 'a' });
  const b = await startEngine(peers, dataDir, { owner: 'b' });
  t.teardown(async () => {
    await a.close();
    await b.close();
    await tmp.remove();
  });
  const definition = channelJson('orders', [peerDestination('ris', 'ris')]);
  await a.engine.saveDefinition(definition);
  await b.engine.deployActive();
  // Both deploy the same source name; the in-test source keeps the last context, which is engine b's.
  for (let n = 1; n <= 20; n++) await peers.receive('orders', jsonMessage({ n }));
  await waitFor('all twenty', () => peers.peer('ris').delivered.length >= 20);
  await sleep(200);
  t.deepEqual(
    numbers(peers.peer('ris')),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
});

test('a delivery recorded as queued whose item was never written (crash in between) is queued again at deploy', async (t) => {
  const peers = new TestPeers();
  const { engine, store, restart } = await setup(t, peers);
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  await engine.pauseDestination('orders', 'ris');
  const outcome = await peers.receive('orders', jsonMessage({ n: 1 }));
  // What a kill -9 between the two writes leaves: the message says queued, the queue has nothing.
  await store.db.collection('queue_items').deleteMany({});
  await engine.resumeDestination('orders', 'ris');

  const peersAfter = new TestPeers();
  const next = await restart(peersAfter);
  await next.engine.deployActive();
  await waitFor('the recovered delivery', () => peersAfter.peer('ris').delivered.length === 1);
  t.is(peersAfter.peer('ris').delivered[0]?.messageId, outcome.status === 'accepted' ? outcome.messageId : '');
  await next.engine.redeploy('orders');
  await sleep(200);
  t.is(peersAfter.peer('ris').delivered.length, 1, 'a sent delivery is not recovered again');
});

test("a channel's queued message ids are its own, not those of a channel whose id starts the same", async (t) => {
  const { store } = await setup(t);
  const queue = new DeliveryQueue(store.db);
  await queue.open();
  const item = (channelId: string, destination: string, messageId: string) => ({
    channelId,
    destination,
    destinationIndex: 0,
    messageId,
    content: '{}',
    dataType: 'json',
  });
  await queue.enqueue([
    item('a', 'ris', 'm1'),
    item('a', 'pacs', 'm2'),
    item('ab', 'ris', 'm3'),
    item('b', 'ris', 'm4'),
  ]);
  t.deepEqual([...(await queue.queuedMessageIds('a'))].sort(), ['m1', 'm2']);
  t.deepEqual([...(await queue.queuedMessageIds('ab'))], ['m3']);
  t.deepEqual([...(await queue.queuedMessageIds('c'))], []);
});
