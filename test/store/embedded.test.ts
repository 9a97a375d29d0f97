// What only the embedded engine has to prove: its indexes are used (EXPLAIN QUERY PLAN), its settings make an
// acknowledged write durable, its catalog is shared by every connection to the file, and it reopens intact.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ObjectId as BsonObjectId } from 'bson';
import { ObjectId } from 'mongodb';
import { EmbeddedStore } from '../../store/embedded/db.ts';
import { openStore } from '../../store/open.ts';
import type { Logger } from '../../runtime/log.ts';
import { openEmbedded } from './engines.ts';

function scansCollection(queryPlan: string[]): boolean {
  return queryPlan.some((line) => /^SCAN (c|"c:)/.test(line) || /^SCAN c\b/.test(line));
}

test('indexed equality, $in, range, _id and sorted claims read through indexes, not by scanning', async (t) => {
  const engine = openEmbedded();
  try {
    const c = (engine.db as EmbeddedStore['db']).collection('exams');
    await c.createIndex({ accession: 1 }, { unique: true });
    await c.createIndex({ receivedAt: 1 });
    await c.createIndex({ state: 1, receivedAt: 1 });
    await c.insertMany(
      Array.from({ length: 200 }, (_v, i) => ({
        accession: `A${i}`,
        receivedAt: new Date(i * 1000),
        state: i % 2 ? 'queued' : 'sent',
        note: `n${i}`,
      })),
    );

    const cases = [
      { filter: { accession: 'A7' }, plan: 'keys' },
      { filter: { accession: { $in: ['A1', 'A2'] } }, plan: 'keys' },
      { filter: { receivedAt: { $gte: new Date(5000), $lt: new Date(9000) } }, plan: 'range' },
      { filter: { _id: new ObjectId() }, plan: 'ids' },
      { filter: { _id: { $in: [new ObjectId(), new ObjectId()] } }, plan: 'ids' },
    ];
    for (const { filter, plan } of cases) {
      const explained = c.explain(filter);
      t.is(explained.plan, plan, JSON.stringify(filter));
      t.false(scansCollection(explained.queryPlan), `${JSON.stringify(filter)}: ${explained.queryPlan.join(' / ')}`);
      t.true(
        explained.queryPlan.some((line) => line.startsWith('SEARCH')),
        explained.queryPlan.join(' / '),
      );
    }
    const claim = c.explain({ state: 'queued' }, { sort: { receivedAt: 1 }, limit: 1 });
    t.is(claim.plan, 'ordered:state_1_receivedAt_1');
    t.true(
      claim.queryPlan.some((line) => line.startsWith('SEARCH x USING PRIMARY KEY')),
      claim.queryPlan.join(' / '),
    );
    t.false(
      claim.queryPlan.some((line) => line.includes('TEMP B-TREE')),
      'no sort step: the index is in order',
    );

    // The check above can fail: a filter on an unindexed field does scan.
    const unindexed = c.explain({ note: 'n3' });
    t.is(unindexed.plan, 'scan');
    t.true(scansCollection(unindexed.queryPlan), unindexed.queryPlan.join(' / '));
    t.is((await c.findOne({ accession: 'A7' }))?.['note'], 'n7');
  } finally {
    await engine.close();
  }
});

test('a sorted read past a cursor starts at the cursor in the index instead of reading every row below it', async (t) => {
  const engine = openEmbedded();
  try {
    const c = (engine.db as EmbeddedStore['db']).collection<{ _id: string; seq: number | string }>('exam_events');
    await c.createIndex({ seq: 1 });
    await c.insertMany(Array.from({ length: 300 }, (_v, i) => ({ _id: `e${i}`, seq: i + 1 })));
    // Type bracketing as MongoDB does it: a string seq is not greater than a number, so it never comes back.
    await c.insertOne({ _id: 'odd', seq: 'zzz' });

    const explained = c.explain({ seq: { $gt: 250 } }, { sort: { seq: 1 }, limit: 10 });
    t.is(explained.plan, 'ordered:seq_1');
    t.true(
      explained.queryPlan.some((line) => line.startsWith('SEARCH x') && line.includes('v0>?')),
      explained.queryPlan.join(' / '),
    );
    const next = await c
      .find({ seq: { $gt: 250 } })
      .sort({ seq: 1 })
      .limit(10)
      .toArray();
    t.deepEqual(
      next.map((doc) => doc['seq']),
      Array.from({ length: 10 }, (_v, i) => 251 + i),
    );
    const between = await c
      .find({ seq: { $gt: 295, $lte: 298 } })
      .sort({ seq: -1 })
      .limit(10)
      .toArray();
    t.deepEqual(
      between.map((doc) => doc['seq']),
      [298, 297, 296],
    );
  } finally {
    await engine.close();
  }
});

test('of two equality indexes the planner reads the one with fewer entries for the keys, whatever the field order', async (t) => {
  const engine = openEmbedded();
  try {
    const c = (engine.db as EmbeddedStore['db']).collection('exams');
    await c.createIndex({ facility: 1, status: 1 });
    await c.createIndex({ patientId: 1 });
    await c.insertMany(
      Array.from({ length: 300 }, (_v, i) => ({
        facility: 'VALLEYGEN',
        status: 'requested',
        patientId: `p${i % 100}`,
      })),
    );
    t.is(c.explain({ facility: 'VALLEYGEN', patientId: 'p7' }).index, 'patientId_1');
    t.is(c.explain({ patientId: 'p7', facility: 'VALLEYGEN' }).index, 'patientId_1');
    t.is(
      c.explain({ facility: 'ELSEWHERE', patientId: 'p7' }).index,
      'facility_1_status_1',
      'no entries at all is cheaper still',
    );
    t.is(await c.countDocuments({ facility: 'VALLEYGEN', patientId: 'p7' }), 3);
  } finally {
    await engine.close();
  }
});

test('the store runs in WAL mode with synchronous=NORMAL (the WAL is fsynced off the event loop) and a busy timeout', async (t) => {
  const engine = openEmbedded();
  const store = new EmbeddedStore(engine.file);
  try {
    t.is(store.pragma('journal_mode'), 'wal');
    t.is(
      store.pragma('synchronous'),
      1,
      'NORMAL: the engine fsyncs the WAL itself before a write resolves (durability.test.ts)',
    );
    t.true(Number(store.pragma('busy_timeout')) >= 1000);
    t.true(await store.ping());
  } finally {
    await store.close();
    await engine.close();
  }
  t.false(await store.ping());
  await t.throwsAsync(store.db.collection('x').findOne({}), { message: /closed/ });
});

test('openStore without a MongoDB URL opens hub.sqlite in the data directory and it reopens intact', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rso-open-'));
  const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };
  const log = quiet;
  const first = await openStore({ dataDir, log });
  t.is(first.engine, 'embedded');
  const exams = first.db.collection('exams');
  await exams.createIndex({ number: 1 }, { unique: true });
  const { insertedId } = await exams.insertOne({ number: 'RSO-1', at: new Date(1_700_000_000_000) });
  await first.close();

  const second = await openStore({ dataDir, log });
  try {
    const again = second.db.collection('exams');
    const doc = await again.findOne({ _id: insertedId });
    t.is(doc?.['number'], 'RSO-1');
    t.deepEqual(doc?.['at'], new Date(1_700_000_000_000));
    const error = await t.throwsAsync(again.insertOne({ number: 'RSO-1' }));
    t.is((error as unknown as { code: number }).code, 11000, 'the unique index survived the restart');
  } finally {
    await second.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an index, and its multikey state, created through one connection is used by another', async (t) => {
  const engine = openEmbedded();
  const other = new EmbeddedStore(engine.file);
  try {
    const mine = engine.db.collection('sizes');
    const theirs = other.db.collection('sizes');
    await mine.createIndex({ dim: 1 });
    await mine.insertOne({ name: 'q', dim: 16 });
    t.deepEqual(
      (await theirs.find({ dim: { $gt: 15, $lt: 20 } }).toArray()).map((doc) => doc['name']),
      ['q'],
    );
    // The other connection makes the index multikey; this one must stop using both bounds in one scan.
    await mine.insertOne({ name: 'p', dim: [14, 21] });
    t.deepEqual(
      (
        await theirs
          .find({ dim: { $gt: 15, $lt: 20 } })
          .sort({ name: 1 })
          .toArray()
      ).map((doc) => doc['name']),
      ['p', 'q'],
    );
    await theirs.createIndex({ code: 1 }, { unique: true, sparse: true });
    await theirs.insertOne({ code: 'X' });
    const error = await t.throwsAsync(mine.insertOne({ code: 'X' }));
    t.is((error as unknown as { code: number }).code, 11000);
  } finally {
    await other.close();
    await engine.close();
  }
});

test("ObjectIds from the 'bson' package and from the driver find the same document", async (t) => {
  const engine = openEmbedded();
  try {
    const c = engine.db.collection('ids');
    const id = new BsonObjectId();
    await c.insertOne({ _id: id as unknown as ObjectId, ref: id });
    const byDriverClass = await c.findOne({ _id: new ObjectId(id.toHexString()) });
    t.truthy(byDriverClass);
    t.true(byDriverClass?.['ref'] instanceof ObjectId, 'documents come back with the driver’s ObjectId class');
    t.is(await c.countDocuments({ ref: id }), 1);
    t.is(await c.countDocuments({ ref: { $in: [new ObjectId(id.toHexString())] } }), 1);
  } finally {
    await engine.close();
  }
});

test('a group with a failing write is run again write by write: what the first run created is not half kept', async (t) => {
  const engine = openEmbedded();
  try {
    const orders = engine.db.collection('orders');
    await orders.createIndex({ number: 1 }, { unique: true });
    await orders.insertOne({ number: 1 });
    // One turn: a write that creates a collection, one that makes an index multikey, and a duplicate.
    const results = await Promise.allSettled([
      engine.db.collection('fresh').insertOne({ made: true }),
      orders.insertOne({ number: [2, 3] }),
      orders.insertOne({ number: 1 }),
    ]);
    t.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    t.is(await engine.db.collection('fresh').countDocuments(), 1);
    t.deepEqual(
      (await orders.find({ number: 3 }).toArray()).map((doc) => doc['number']),
      [[2, 3]],
    );
    t.is(await orders.countDocuments(), 2);

    // A failing write that itself made a collection: run alone, its rollback takes the collection away again,
    // and the cached catalog must forget it too: a stale one sends the next write to a table that is gone.
    const [made] = await Promise.allSettled([
      engine.db
        .collection('stillborn')
        .updateOne({ _id: 'a' } as never, { $inc: { n: 'one' } } as never, { upsert: true }),
      orders.insertOne({ number: 4 }),
    ]);
    t.is(made?.status, 'rejected');
    t.is(await engine.db.collection('stillborn').countDocuments(), 0);
    await engine.db.collection('stillborn').insertOne({ _id: 'b' } as never);
    t.deepEqual(await engine.db.collection('stillborn').find({}).toArray(), [{ _id: 'b' }] as never[]);
    t.is(await orders.countDocuments(), 3);
  } finally {
    await engine.close();
  }
});

test('a TTL index is refused with a message saying what to do instead', async (t) => {
  const engine = openEmbedded();
  try {
    await t.throwsAsync(engine.db.collection('logs').createIndex({ at: 1 }, { expireAfterSeconds: 60 }), {
      message: /TTL.*scheduled job/,
    });
  } finally {
    await engine.close();
  }
});

test('writes issued together share one commit, and a failing one is refused alone', async (t) => {
  const engine = openEmbedded();
  const store = new EmbeddedStore(engine.file);
  try {
    const messages = store.db.collection('messages');
    await messages.createIndex({ controlId: 1 }, { unique: true });
    const before = store.commits;
    const ids = Array.from({ length: 50 }, (_v, i) => `MSG${i}`);
    ids[30] = 'MSG10';
    const results = await Promise.allSettled(ids.map((controlId) => messages.insertOne({ controlId })));
    t.is(store.commits - before, 1, 'fifty inserts, one commit (one fsync)');
    t.is(results.filter((result) => result.status === 'fulfilled').length, 49);
    const refused = results[30];
    t.is(refused?.status, 'rejected');
    t.is(((refused as PromiseRejectedResult).reason as { code: number }).code, 11000);
    t.is(await messages.countDocuments(), 49);

    const claims = await Promise.all(
      Array.from({ length: 60 }, () =>
        messages.findOneAndUpdate(
          { claimed: { $exists: false } },
          { $set: { claimed: true } },
          { returnDocument: 'after' },
        ),
      ),
    );
    const claimed = claims.filter((doc) => doc !== null).map((doc) => doc['controlId']);
    t.is(claimed.length, 49, 'eleven claims found nothing left');
    t.is(new Set(claimed).size, 49, 'no document claimed twice within one group');
  } finally {
    await store.close();
    await engine.close();
  }
});

test('index rows follow an update whatever its field names: no two sets of paths are taken for one another', async (t) => {
  const engine = openEmbedded();
  try {
    const c = (engine.db as EmbeddedStore['db']).collection<{ _id: string; a: number }>('odd');
    await c.createIndex({ a: 1 });
    await c.insertMany([
      { _id: 'first', a: 1 },
      { _id: 'second', a: 1 },
    ]);
    // The indexes an update can change are remembered per set of paths (store/embedded/writer.ts): a NUL inside a
    // field name must not make this set look like the set ['a', 'b'].
    await c.updateOne({ _id: 'first' }, { $set: { 'a\u0000b': 5 } });
    await c.updateOne({ _id: 'second' }, { $set: { a: 2, b: 2 } });
    t.deepEqual(
      (await c.find({ a: 2 }).toArray()).map((d) => d._id),
      ['second'],
    );
    t.deepEqual(
      (await c.find({ a: 1 }).toArray()).map((d) => d._id),
      ['first'],
    );
  } finally {
    await engine.close();
  }
});
