// The embedded planner's bounded index reads ($gt/$gte/$lt/$lte on an indexed field, after equality on a compound
// index's leading fields, and the same bounds on an index read in sort order) must give exactly what a full scan
// gives: the same collection without indexes answers every filter by reading all documents through mingo, and
// each case also checks that the indexed side really read through the bounds (its plan), so the comparison
// cannot pass by scanning on both sides. NaN is left out of the comparison: mingo's scan compares NaN equal to
// every number (so NaN is `$gte: 1` and `$lte: 1`), where MongoDB and the index (NaN ranks below -Infinity, keys.ts)
// find it in no range; the last test holds the index to MongoDB's rule.
import test from 'ava';
import { ObjectId } from 'bson';
import type { Document } from 'mongodb';
import type { EmbeddedStore } from '../../store/embedded/db.ts';
import { openEmbedded } from './engines.ts';

type Collection = ReturnType<EmbeddedStore['db']['collection']>;

const early = new ObjectId('650000000000000000000001');
const late = new ObjectId('650000000000000000000009');

/** Every kind of value a bounded read must bracket, include or leave out. */
const values: unknown[] = [
  0,
  1,
  1.5,
  2,
  -3,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  '',
  'a',
  'ab',
  'b',
  'B',
  'é',
  '2027-01-04T08:00:00Z',
  '2027-01-05T00:00:00.000Z',
  '2027-01-05T23:59:59Z',
  '2027-01-06T00:00:00.000Z',
  null,
  true,
  false,
  new Date(Date.UTC(2027, 0, 5)),
  new Date(Date.UTC(2027, 0, 6)),
  early,
  late,
  [1, 'b'],
  [0, 5],
  [],
  { nested: 1 },
];

/** With `arrays` false, no value is an array, so the indexes stay one entry per document (not multikey). */
function documents(arrays = true): Document[] {
  const docs: Document[] = [];
  values.forEach((v, i) => {
    if (!arrays && Array.isArray(v)) return;
    docs.push({ key: `v${i}`, v, f: 'F1', s: 'requested' });
    docs.push({ key: `w${i}`, v, f: i % 2 ? 'F1' : 'F2', s: i % 3 ? 'requested' : 'done' });
  });
  docs.push({ key: 'missing', f: 'F1', s: 'requested' });
  docs.push({ key: 'missing-status', v: 1, f: 'F1' });
  if (arrays) docs.push({ key: 'array-status', v: 'b', f: 'F1', s: ['requested', 'done'] });
  return docs;
}

async function pair(
  t: { teardown: (fn: () => Promise<void>) => void },
  arrays = true,
): Promise<[Collection, Collection]> {
  const engine = openEmbedded();
  t.teardown(() => engine.close());
  const db = engine.db as EmbeddedStore['db'];
  const indexed = db.collection('indexed');
  const scanned = db.collection('scanned');
  await indexed.createIndex({ v: 1 });
  await indexed.createIndex({ f: 1, s: 1, v: 1, key: 1 });
  await indexed.insertMany(documents(arrays));
  await scanned.insertMany(documents(arrays));
  return [indexed, scanned];
}

const keysOf = (docs: Document[]): string[] => docs.map((doc) => String(doc['key']));

const bounds: Array<Record<string, unknown>> = [
  { $gte: 1 },
  { $gt: 1 },
  { $lt: 1.5 },
  { $lte: 1.5 },
  { $gte: 1, $lte: 2 },
  { $gt: 1, $lt: 2 },
  { $gt: Number.NEGATIVE_INFINITY },
  { $gte: Number.NEGATIVE_INFINITY },
  { $lt: Number.POSITIVE_INFINITY },
  { $gte: 'a', $lt: 'b' },
  { $gt: 'a' },
  { $lte: '' },
  { $gte: '' },
  { $gte: '2027-01-05T00:00:00.000Z', $lt: '2027-01-06T00:00:00.000Z' },
  { $gte: new Date(Date.UTC(2027, 0, 5)), $lt: new Date(Date.UTC(2027, 0, 6)) },
  { $gte: new Date(Date.UTC(2027, 0, 5)), $lte: new Date(Date.UTC(2027, 0, 6)) },
  { $gt: early },
  { $gte: early, $lte: late },
  { $gt: false },
  { $gte: true },
  { $gte: 1, $lt: 'b' },
  { $gte: 0, $lte: 0 },
  { $gt: 5, $lt: 1 },
];

test('a bounded read of one indexed field gives what a full scan gives, at every edge', async (t) => {
  const [indexed, scanned] = await pair(t);
  for (const range of bounds) {
    const filter = { v: range };
    const label = JSON.stringify(range);
    t.is(indexed.explain(filter).plan, 'range', label);
    t.is(scanned.explain(filter).plan, 'scan', label);
    t.deepEqual(keysOf(await indexed.find(filter).toArray()), keysOf(await scanned.find(filter).toArray()), label);
    t.is(await indexed.countDocuments(filter), await scanned.countDocuments(filter), label);
  }
});

test('equality on a compound index’s leading fields, then bounds on the next, gives what a full scan gives', async (t) => {
  const [indexed, scanned] = await pair(t);
  for (const range of bounds) {
    for (const filter of [
      { f: 'F1', s: 'requested', v: range },
      { f: { $in: ['F1'] }, s: { $in: ['requested'] }, $and: [{ v: range }] },
      { f: 'F2', s: 'done', v: range },
    ]) {
      const label = JSON.stringify(filter);
      const plan = indexed.explain(filter);
      t.is(plan.index, 'f_1_s_1_v_1_key_1', label);
      t.regex(plan.sql, /t2 = \? AND v2 [<>]/, label);
      t.deepEqual(keysOf(await indexed.find(filter).toArray()), keysOf(await scanned.find(filter).toArray()), label);
    }
  }
  const prefix = { f: 'F1', s: 'requested' };
  t.is(indexed.explain(prefix).plan, 'range', 'two equalities read further into the index than one');
  t.deepEqual(keysOf(await indexed.find(prefix).toArray()), keysOf(await scanned.find(prefix).toArray()));
});

test('an index read in sort order stops at the bounds and keeps the full scan’s order, skip and limit', async (t) => {
  // Only an index with one entry per document is in MongoDB's sort order (planOrder), so no arrays here.
  const [indexed, scanned] = await pair(t, false);
  for (const range of bounds) {
    const filter = { f: 'F1', s: 'requested', v: range };
    const sort = { v: 1, key: 1 } as const;
    const label = JSON.stringify(range);
    const plan = indexed.explain(filter, { sort, limit: 3 });
    t.is(plan.plan, 'ordered:f_1_s_1_v_1_key_1', label);
    t.regex(plan.sql, /x\.t2 = \? AND x\.v2 [<>]/, label);
    for (const [skip, limit] of [
      [0, 3],
      [2, 3],
      [0, 100],
    ] as const) {
      t.deepEqual(
        keysOf(await indexed.find(filter).sort(sort).skip(skip).limit(limit).toArray()),
        keysOf(await scanned.find(filter).sort(sort).skip(skip).limit(limit).toArray()),
        `${label} skip ${skip} limit ${limit}`,
      );
    }
  }
});

test('a narrow equality beats an ordered read of many entries, and a day of a facility beats the facility', async (t) => {
  const engine = openEmbedded();
  t.teardown(() => engine.close());
  const c = (engine.db as EmbeddedStore['db']).collection('exams');
  await c.createIndex({ facility: 1, status: 1 });
  await c.createIndex({ facility: 1, status: 1, scheduledAt: 1, _id: 1 });
  await c.createIndex({ accession: 1 });
  const day = (i: number) => new Date(Date.UTC(2027, 0, 4) + Math.floor(i / 100) * 86_400_000).toISOString();
  await c.insertMany(
    Array.from({ length: 3000 }, (_v, i) => ({
      facility: 'VALLEYGEN',
      status: 'requested',
      accession: `ACC-${i}`,
      scheduledAt: day(i),
    })),
  );
  const oneDay = {
    facility: { $in: ['VALLEYGEN'] },
    status: { $in: ['requested'] },
    $and: [{ scheduledAt: { $gte: day(1500), $lt: day(1600) } }],
  };
  const counted = c.explain(oneDay);
  t.is(counted.index, 'facility_1_status_1_scheduledAt_1__id_1', 'the day’s entries, not the facility’s');
  t.is(await c.countDocuments(oneDay), 100);
  t.is(
    c.explain(oneDay, { sort: { scheduledAt: 1, _id: 1 }, limit: 200 }).plan,
    'ordered:facility_1_status_1_scheduledAt_1__id_1',
  );
  const found = await c.find(oneDay).sort({ scheduledAt: 1, _id: 1 }).limit(200).toArray();
  t.is(found.length, 100);

  const oneOrder = { facility: 'VALLEYGEN', status: 'requested', accession: 'ACC-2999' };
  const byAccession = c.explain(oneOrder, { sort: { scheduledAt: 1, _id: 1 }, limit: 200 });
  t.is(byAccession.plan, 'keys', 'one entry, sorted in memory, rather than the backlog in order');
  t.is(byAccession.index, 'accession_1');
  t.deepEqual(
    (await c.find(oneOrder).sort({ scheduledAt: 1, _id: 1 }).limit(200).toArray()).map((doc) => doc['accession']),
    ['ACC-2999'],
  );
});

test('NaN is in no bounded range, as in MongoDB (NaN ranks below every number)', async (t) => {
  const engine = openEmbedded();
  t.teardown(() => engine.close());
  const c = (engine.db as EmbeddedStore['db']).collection('numbers');
  await c.createIndex({ v: 1 });
  await c.insertMany([{ v: Number.NaN }, { v: 1 }, { v: 2 }]);
  t.is(c.explain({ v: { $gte: 1 } }).plan, 'range');
  t.deepEqual(
    (await c.find({ v: { $gte: 1 } }).toArray()).map((doc) => doc['v']),
    [1, 2],
  );
});
