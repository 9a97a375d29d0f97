import test from 'ava';
import path from 'node:path';
import type { DeploymentEvent } from '../../channels/engine-events.ts';
import { TestPeers, channelJson, jsonMessage, peerDestination, startEngine, tempDir, waitFor } from './harness.ts';

async function setup(t: import('ava').ExecutionContext) {
  const tmp = await tempDir('engine');
  const peers = new TestPeers();
  const started = await startEngine(peers, path.join(tmp.dir, 'data'));
  t.teardown(async () => {
    await started.close();
    await tmp.remove();
  });
  return { ...started, peers };
}

test('deployment status: deployed, disabled, failed (with the reason), undeployed', async (t) => {
  const { engine, peers } = await setup(t);
  const events: DeploymentEvent[] = [];
  engine.events.on('deployment', (e) => events.push(e));
  await engine.saveDefinition(channelJson('on', [peerDestination('ris', 'ris')]));
  await engine.saveDefinition(channelJson('off', [peerDestination('ris', 'ris')], { enabled: false }));
  await engine.saveDefinition({
    ...channelJson('busy', [peerDestination('ris', 'ris')]),
    source: { type: 'test-source', settings: { name: 'busy', failStart: true } },
  });
  t.like(engine.channelStatus('on'), { status: 'deployed', revision: 1 });
  t.like(engine.channelStatus('off'), { status: 'disabled' });
  t.like(engine.channelStatus('busy'), { status: 'failed', error: 'listen EADDRINUSE 127.0.0.1:2575' });
  t.false(peers.sources.has('off'), 'a disabled channel does not listen');
  t.deepEqual(
    (await engine.listChannels()).map((c) => [c.id, c.status]),
    [
      ['on', 'deployed'],
      ['off', 'disabled'],
      ['busy', 'failed'],
    ],
  );
  t.deepEqual(
    engine.channelStatuses().map((c) => [c.id, c.status]),
    [
      ['on', 'deployed'],
      ['off', 'disabled'],
      ['busy', 'failed'],
    ],
  );

  await engine.undeploy('on');
  t.false(peers.sources.has('on'), 'undeploy stops the source');
  t.is(engine.channelStatus('on'), undefined);
  t.deepEqual(
    events.map((e) => [e.channelId, e.status]),
    [
      ['on', 'deployed'],
      ['off', 'disabled'],
      ['busy', 'failed'],
      ['on', 'undeployed'],
    ],
  );
});

test('stop: the source stops first and a delivery in flight finishes and is recorded', async (t) => {
  const { engine, peers } = await setup(t);
  let release!: () => void;
  const ris = peers.peer('ris');
  ris.gate = new Promise((resolve) => (release = resolve));
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  const outcome = await peers.receive('orders', jsonMessage({ n: 1 }));
  await waitFor('the delivery to start', () => ris.attempts.length === 1);
  let stopped = false;
  const stopping = engine.stop().then(() => (stopped = true));
  await waitFor('the source to stop', () => !peers.sources.has('orders'));
  t.false(stopped, 'stop waits for the delivery in flight');
  release();
  await stopping;
  const stored = await engine.getMessage(outcome.status === 'accepted' ? outcome.messageId : '');
  t.is(stored?.destinations[0]?.state, 'sent');
  t.is(await engine.queue.depth('orders', 'ris'), 0);
});

test('a redeploy with a new revision keeps the queue: items enqueued under the old one are delivered', async (t) => {
  const { engine, peers } = await setup(t);
  peers.peer('ris').down = true;
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  await peers.receive('orders', jsonMessage({ n: 1 }));
  await waitFor('an attempt', () => peers.peer('ris').attempts.length >= 1);
  peers.peer('ris').down = false;
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris', { maxAttempts: 10 })]));
  await peers.receive('orders', jsonMessage({ n: 2 }));
  await waitFor('both', () => peers.peer('ris').delivered.length === 2);
  t.deepEqual(
    peers.peer('ris').delivered.map((m) => JSON.parse(m.content).n),
    [1, 2],
  );
  t.deepEqual(
    (await engine.searchMessages({ channelId: 'orders' })).items.map((m) => m.revision),
    [2, 1],
  );
});

test('stop does not hang on a peer that never answers; the delivery is redone after a restart', async (t) => {
  const tmp = await tempDir('hang');
  const dataDir = path.join(tmp.dir, 'data');
  const peers = new TestPeers();
  peers.peer('ris').gate = new Promise(() => {});
  const first = await startEngine(peers, dataDir, { stopTimeoutMs: 200, leaseMs: 500 });
  await first.engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  const outcome = await peers.receive('orders', jsonMessage({ n: 1 }));
  await waitFor('the hanging attempt', () => peers.peer('ris').attempts.length === 1);
  await first.close();

  const peersAfter = new TestPeers();
  const second = await startEngine(peersAfter, dataDir);
  t.teardown(async () => {
    await second.close();
    await tmp.remove();
  });
  await second.engine.deployActive();
  await waitFor('the redelivery', () => peersAfter.peer('ris').delivered.length === 1);
  t.is(peersAfter.peer('ris').delivered[0]?.messageId, outcome.status === 'accepted' ? outcome.messageId : '');
});
