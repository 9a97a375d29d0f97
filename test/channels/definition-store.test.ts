import test from 'ava';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '../../runtime/validate.ts';
import { SeedError } from '../../channels/definition-store.ts';
import { TestPeers, channelJson, peerDestination, startEngine, tempDir } from './harness.ts';

const seedFixtures = new URL('../fixtures/channels/seed/', import.meta.url);

test('every save is a new revision; the latest valid one is active and runs', async (t) => {
  const tmp = await tempDir('defs');
  const peers = new TestPeers();
  const { engine, close } = await startEngine(peers, tmp.dir);
  t.teardown(async () => {
    await close();
    await tmp.remove();
  });
  await engine.saveDefinition(channelJson('adt', [peerDestination('ris', 'ris')]), 'alice');
  const second = await engine.saveDefinition(
    channelJson('adt', [peerDestination('ris', 'ris'), peerDestination('billing', 'billing')]),
    'bob',
  );
  t.like(second, { id: 'adt', revision: 2, status: 'deployed' });
  t.deepEqual(
    (await engine.definitions.revisions('adt')).map((r) => [r.revision, r.author]),
    [
      [1, 'alice'],
      [2, 'bob'],
    ],
  );

  const bad = channelJson('adt', [peerDestination('ris', 'ris', { queue: 'sideways' })]);
  const error = await t.throwsAsync(engine.saveDefinition(bad, 'mallory'), { instanceOf: ValidationError });
  t.is(error?.message, 'destinations[0].queue: expected one of: ordered, unordered');
  t.is((await engine.definitions.revisions('adt')).length, 2, 'a refused definition is not stored');
  t.like(engine.channelStatus('adt'), { revision: 2, status: 'deployed' }, 'the running revision stays');
  t.is((await engine.definitions.active('adt'))?.definition.destinations.length, 2);

  await engine.definitions.activate('adt', 1);
  t.like(await engine.redeploy('adt'), { revision: 1, status: 'deployed' });
  t.deepEqual(
    (await engine.queueDepths('adt')).map((q) => q.destination),
    ['ris'],
  );
});

test('seeding from files: a file equal to the active revision adds nothing, a changed file adds one', async (t) => {
  const tmp = await tempDir('seed');
  const seeds = path.join(tmp.dir, 'channels');
  await cp(seedFixtures, seeds, { recursive: true });
  const peers = new TestPeers();
  const { engine, close } = await startEngine(peers, path.join(tmp.dir, 'data'));
  t.teardown(async () => {
    await close();
    await tmp.remove();
  });
  const first = await engine.definitions.seedFromDirectory(seeds);
  t.deepEqual(
    first.map((r) => [r.file, r.channelId, r.outcome, r.revision]),
    [
      ['adt.json', 'adt-in', 'saved', 1],
      ['orders.json', 'orders-in', 'saved', 1],
    ],
  );
  const again = await engine.definitions.seedFromDirectory(seeds);
  t.deepEqual(
    again.map((r) => r.outcome),
    ['unchanged', 'unchanged'],
  );

  // Reformatting (key order, whitespace) is not a change.
  const orders = JSON.parse(await readFile(path.join(seeds, 'orders.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(
    path.join(seeds, 'orders.json'),
    JSON.stringify(Object.fromEntries(Object.entries(orders).reverse()), null, 4),
  );
  t.deepEqual(
    (await engine.definitions.seedFromDirectory(seeds)).map((r) => r.outcome),
    ['unchanged', 'unchanged'],
  );

  await writeFile(path.join(seeds, 'orders.json'), JSON.stringify({ ...orders, retentionDays: 14 }));
  const changed = await engine.definitions.seedFromDirectory(seeds);
  t.like(changed[1], { channelId: 'orders-in', outcome: 'saved', revision: 2 });

  const statuses = await engine.deployActive();
  t.deepEqual(
    statuses.map((s) => [s.id, s.revision, s.status]),
    [
      ['adt-in', 1, 'deployed'],
      ['orders-in', 2, 'deployed'],
    ],
  );
});

test('a bad seed file names the file and the path, and the active revision stays', async (t) => {
  const tmp = await tempDir('seedbad');
  const seeds = path.join(tmp.dir, 'channels');
  await cp(seedFixtures, seeds, { recursive: true });
  const peers = new TestPeers();
  const { engine, close } = await startEngine(peers, path.join(tmp.dir, 'data'));
  t.teardown(async () => {
    await close();
    await tmp.remove();
  });
  await engine.definitions.seedFromDirectory(seeds);
  await writeFile(
    path.join(seeds, 'orders.json'),
    JSON.stringify(channelJson('orders-in', [peerDestination('ris', 'ris', { maxAttempts: 'three' })])),
  );
  const error = await t.throwsAsync(engine.definitions.seedFromDirectory(seeds), { instanceOf: SeedError });
  t.is(error?.message, `${path.join(seeds, 'orders.json')}: destinations[0].maxAttempts: expected a whole number`);
  t.is((await engine.definitions.active('orders-in'))?.revision, 1);
});
