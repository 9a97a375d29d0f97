import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TestPeers, channelJson, jsonMessage, peerDestination, startEngine, tempDir, waitFor } from './harness.ts';

const orderText = await readFile(new URL('../fixtures/channels/order.json', import.meta.url), 'utf8');
const order = JSON.parse(orderText) as Record<string, unknown>;

async function setup(t: import('ava').ExecutionContext) {
  const tmp = await tempDir('pipe');
  const peers = new TestPeers();
  const started = await startEngine(peers, path.join(tmp.dir, 'data'));
  t.teardown(async () => {
    await started.close();
    await tmp.remove();
  });
  return { ...started, peers, dir: tmp.dir };
}

test('an order goes through filter and map to a file destination, written atomically', async (t) => {
  const { engine, peers, dir } = await setup(t);
  const outbox = path.join(dir, 'outbox');
  await engine.saveDefinition(
    channelJson(
      'orders',
      [
        {
          name: 'archive',
          connector: { type: 'file', settings: { directory: outbox, fileName: '{channelId}-{messageId}.json' } },
          map: { mappings: [{ target: 'archived', value: 'yes' }] },
        },
      ],
      {
        filter: { path: 'messageType', operator: 'eq', value: 'ORM^O01' },
        map: { script: 'msg.modality = msg.modality.toUpperCase(); delete msg.patient;' },
      },
    ),
  );
  const outcome = await peers.receive('orders', { ...jsonMessage(order), dataType: 'json' });
  t.is(outcome.status, 'accepted');
  const messageId = outcome.status === 'accepted' ? outcome.messageId : '';
  await waitFor('the file', async () => (await readdir(outbox).catch(() => [])).some((f) => !f.startsWith('.')));
  const files = await readdir(outbox);
  t.deepEqual(files, [`orders-${messageId}.json`], 'no temporary file is left behind');
  const written = JSON.parse(await readFile(path.join(outbox, files[0]!), 'utf8')) as Record<string, unknown>;
  t.is(written['modality'], 'CT');
  t.is(written['archived'], 'yes');
  t.false('patient' in written);

  await waitFor('the sent state', async () => (await engine.getMessage(messageId))?.destinations[0]?.state === 'sent');
  const stored = await engine.getMessage(messageId);
  t.is(stored?.raw, JSON.stringify(order), 'the raw content is kept as received');
  t.like(stored, {
    channelId: 'orders',
    revision: 1,
    state: 'processed',
    messageType: 'ORM^O01',
    controlId: 'MSG00042',
    patientId: 'MRN-1001',
    accession: 'ACC-77',
    orderNumber: 'ORD-9',
  });
  t.like(stored?.destinations[0], {
    name: 'archive',
    state: 'sent',
    attempts: 1,
    response: `orders-${messageId}.json`,
  });
});

test('the channel filter drops a message but it is stored and searchable as filtered', async (t) => {
  const { engine, peers } = await setup(t);
  await engine.saveDefinition(
    channelJson('adt', [peerDestination('ris', 'ris')], {
      filter: { path: 'messageType', operator: 'matches', value: '^ADT' },
    }),
  );
  const outcome = await peers.receive('adt', jsonMessage(order));
  t.is(outcome.status, 'filtered');
  const found = await engine.searchMessages({ channelId: 'adt', state: 'filtered' });
  t.is(found.total, 1);
  t.like(found.items[0], { state: 'filtered', controlId: 'MSG00042' });
  t.is(found.items[0]?.destinations[0]?.state, 'filtered');
  t.false('raw' in (found.items[0] ?? {}), 'search results leave the content out');
  t.is(peers.peer('ris').attempts.length, 0);
});

test('destination filters and maps apply per destination, on separate copies', async (t) => {
  const { engine, peers } = await setup(t);
  await engine.saveDefinition(
    channelJson('split', [
      peerDestination('stat-only', 'stat', { filter: { path: 'priority', operator: 'eq', value: 'STAT' } }),
      peerDestination('ris', 'ris', { map: { script: "msg.target = 'ris';" } }),
      peerDestination('pacs', 'pacs', { map: { mappings: [{ target: 'target', value: 'pacs' }] } }),
    ]),
  );
  const outcome = await peers.receive('split', jsonMessage(order));
  t.is(outcome.status, 'accepted');
  await waitFor(
    'both deliveries',
    () => peers.peer('ris').delivered.length === 1 && peers.peer('pacs').delivered.length === 1,
  );
  t.is((JSON.parse(peers.peer('ris').delivered[0]!.content) as Record<string, unknown>)['target'], 'ris');
  t.is((JSON.parse(peers.peer('pacs').delivered[0]!.content) as Record<string, unknown>)['target'], 'pacs');
  const stored = await engine.getMessage(outcome.status === 'accepted' ? outcome.messageId : '');
  t.is(stored?.destinations[0]?.state, 'filtered');
  t.is(peers.peer('stat').attempts.length, 0);
});

test('a failing or endless script is recorded on the message and the hub keeps receiving', async (t) => {
  const { engine, peers } = await setup(t);
  await engine.saveDefinition(
    channelJson('bad-map', [peerDestination('ris', 'ris')], {
      map: {
        script: "if (msg.loop) { for (;;) {} } if (msg.boom) throw new Error('no facility for ' + msg.site);",
        scriptTimeoutMs: 50,
      },
    }),
  );
  const thrown = await peers.receive('bad-map', jsonMessage({ boom: true, site: 'X1' }));
  t.like(thrown, { status: 'error', error: 'map failed: script error: Error: no facility for X1' });
  const looping = await peers.receive('bad-map', jsonMessage({ loop: true }));
  t.like(looping, { status: 'error', error: 'map failed: the script ran longer than 50 ms' });
  const fine = await peers.receive('bad-map', jsonMessage({ ok: true }));
  t.is(fine.status, 'accepted');
  const stored = await engine.getMessage(looping.status === 'error' ? (looping.messageId ?? '') : '');
  t.like(stored, { state: 'error', error: 'map failed: the script ran longer than 50 ms', raw: '{"loop":true}' });
  t.is((await engine.searchMessages({ channelId: 'bad-map', state: 'error' })).total, 2);
  await waitFor('the good message', () => peers.peer('ris').delivered.length === 1);
});

test('content the data type cannot parse is stored and answered with an error', async (t) => {
  const { engine, peers } = await setup(t);
  await engine.saveDefinition(channelJson('json-in', [peerDestination('ris', 'ris')]));
  const outcome = await peers.receive('json-in', { raw: '{not json', dataType: 'json', source: {} });
  t.is(outcome.status, 'error');
  t.truthy(outcome.messageId);
  t.regex(outcome.status === 'error' ? outcome.error : '', /^parse failed: /);
  t.is((await engine.getMessage(outcome.messageId ?? ''))?.raw, '{not json');
  const unknown = await peers.receive('json-in', { raw: 'x', dataType: 'hl7v9', source: {} });
  t.like(unknown, { status: 'error', error: "unknown data type 'hl7v9'" });
});

test('messages received together are stored in the order given, each with its own outcome, and delivered in that order', async (t) => {
  const { engine, peers } = await setup(t);
  await engine.saveDefinition(
    channelJson('batch', [peerDestination('ris', 'ris')], {
      filter: { path: 'priority', operator: 'ne', value: 'DROP' },
    }),
  );
  const batch = ['A1', 'A2', 'DROP', 'A3', 'A4', 'A5'].map((tag) =>
    jsonMessage({ ...order, orderNumber: tag, priority: tag === 'DROP' ? 'DROP' : 'ROUTINE' }),
  );
  const outcomes = await peers.source('batch').receiveMany(batch);
  t.deepEqual(
    outcomes.map((o) => o.status),
    ['accepted', 'accepted', 'filtered', 'accepted', 'accepted', 'accepted'],
  );
  // Each outcome names its own stored message.
  for (const [i, outcome] of outcomes.entries()) {
    const stored = await engine.getMessage('messageId' in outcome ? (outcome.messageId ?? '') : '');
    t.is(stored?.raw, batch[i]!.raw);
  }
  await waitFor('five deliveries', () => peers.peer('ris').delivered.length === 5);
  t.deepEqual(
    peers.peer('ris').delivered.map((m) => (JSON.parse(m.content) as { orderNumber: string }).orderNumber),
    ['A1', 'A2', 'A3', 'A4', 'A5'],
  );
});
