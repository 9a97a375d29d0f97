// A message whose processing never ends (it stalls or kills the hub) must not be replayed at every start: a
// replayed delivery records that its attempt began, and after two attempts that did not end, or that failed
// past the time budget, it is parked as errored with the reason while the queue goes on.
import test from 'ava';
import path from 'node:path';
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

const never = new Promise<void>(() => {});

test('a replayed delivery whose attempts never ended twice is parked as errored and the queue goes on', async (t) => {
  const tmp = await tempDir('parking');
  const dataDir = path.join(tmp.dir, 'data');
  t.teardown(() => tmp.remove());
  const run = async (setUp: (peers: TestPeers) => void) => {
    const peers = new TestPeers();
    setUp(peers);
    const started = await startEngine(peers, dataDir, { stopTimeoutMs: 200 });
    return { ...started, peers };
  };

  // The receiver is down: both messages are queued, the first one tried.
  const first = await run((p) => (p.peer('ris').down = true));
  await first.engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  for (let n = 1; n <= 2; n++) t.is((await first.peers.receive('orders', jsonMessage({ n }))).status, 'accepted');
  await waitFor('a first attempt', () => first.peers.peer('ris').attempts.length > 0);
  await first.close();
  // Two starts whose replay of the head never ends (the stop gives up on it, as a kill would).
  for (let i = 0; i < 2; i++) {
    const stalled = await run((p) => (p.peer('ris').gate = never));
    await stalled.engine.deployActive();
    await waitFor('the replay under way', () => stalled.peers.peer('ris').attempts.length > 0);
    await stalled.close();
  }
  const last = await run(() => {});
  t.teardown(() => last.close());
  await last.engine.deployActive();
  await waitFor('the second message delivered', () => last.peers.peer('ris').delivered.length === 1);
  t.deepEqual(
    last.peers.peer('ris').delivered.map((m) => JSON.parse(m.content) as unknown),
    [{ n: 2 }],
  );
  t.deepEqual(
    last.peers.peer('ris').attempts.map((m) => JSON.parse(m.content) as unknown),
    [{ n: 2 }],
    'the parked one is not tried',
  );
  const { items } = await last.engine.searchMessages({ channelId: 'orders', state: 'error' });
  t.is(items.length, 1);
  const delivery = items[0]!.destinations[0]!;
  t.is(delivery.parked, true);
  t.regex(delivery.lastError ?? '', /^parked: 2 attempts to process this message did not end/);
  t.is((await last.engine.queueDepths('orders'))[0]?.depth, 0);
});

test('a delivery that fails twice after more than the time budget is parked as errored', async (t) => {
  const tmp = await tempDir('budget');
  t.teardown(() => tmp.remove());
  const peers = new TestPeers();
  const ris = peers.peer('ris');
  ris.down = true;
  // Every attempt takes 100 ms, then fails; the budget is 50 ms.
  Object.defineProperty(ris, 'gate', { get: () => sleep(100) });
  const { engine, close } = await startEngine(peers, path.join(tmp.dir, 'data'), { budgetMs: 50 });
  t.teardown(close);
  await engine.saveDefinition(channelJson('orders', [peerDestination('ris', 'ris')]));
  t.is((await peers.receive('orders', jsonMessage({ n: 1 }))).status, 'accepted');
  await waitFor(
    'the delivery parked',
    async () => (await engine.searchMessages({ channelId: 'orders', state: 'error' })).total === 1,
  );
  t.is(ris.attempts.length, 2);
  const delivery = (await engine.searchMessages({ channelId: 'orders' })).items[0]!.destinations[0]!;
  t.is(delivery.parked, true);
  t.regex(delivery.lastError ?? '', /more than 50 ms.*last error: peer unavailable/);
});
