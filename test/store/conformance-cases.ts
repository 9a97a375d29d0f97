// The conformance cases: each checks a result the MongoDB manual specifies (the section is named in the case),
// and runs unchanged on every engine. `c` is a fresh, empty collection.
import type { ExecutionContext } from 'ava';
import { ObjectId } from 'mongodb';
import type { Document } from 'mongodb';
import type { HubCollection, HubDb } from '../../store/db.ts';
import { DUPLICATE_KEY, isDuplicateKeyError } from '../../store/db.ts';

export interface ConformanceCase {
  readonly name: string;
  run(t: ExecutionContext, c: HubCollection, db: HubDb): Promise<void>;
}

const cases: ConformanceCase[] = [];
function add(name: string, run: ConformanceCase['run']): void {
  cases.push({ name, run });
}
export const conformanceCases: readonly ConformanceCase[] = cases;

/** Documents without _id, for comparing content. */
function bare(docs: Document[]): Document[] {
  return docs.map(({ _id, ...rest }) => rest);
}

async function names(c: HubCollection, filter: Document, sort: Document = { name: 1 }): Promise<string[]> {
  const docs = await c
    .find(filter)
    .sort(sort as never)
    .toArray();
  return docs.map((doc) => String(doc['name']));
}

async function seedPeople(c: HubCollection): Promise<void> {
  await c.insertMany([
    { name: 'ann', age: 30, city: 'Berlin', tags: ['a', 'b'], address: { zip: '10115', country: 'DE' } },
    { name: 'bob', age: 25, city: 'Paris', tags: ['b'], address: { zip: '75001', country: 'FR' } },
    { name: 'cid', age: 35, city: 'Berlin', tags: [], nickname: null },
    { name: 'dan', age: '40', city: 'Rome' },
  ]);
}

async function rejects(t: ExecutionContext, promise: Promise<unknown>): Promise<Record<string, unknown>> {
  const error = await t.throwsAsync(promise);
  return (error ?? {}) as unknown as Record<string, unknown>;
}

// ---- insert (manual: db.collection.insertOne / insertMany) ---------------------------------------------

add('insertOne acknowledges and returns a generated ObjectId', async (t, c) => {
  const result = await c.insertOne({ name: 'x' });
  t.true(result.acknowledged);
  t.true(result.insertedId instanceof ObjectId);
  t.deepEqual(bare([(await c.findOne({ _id: result.insertedId }))!]), [{ name: 'x' }]);
});

add('insertOne adds the generated _id to the inserted object', async (t, c) => {
  const doc: Document = { name: 'x' };
  const result = await c.insertOne(doc);
  t.true(doc['_id'] instanceof ObjectId);
  t.is(String(doc['_id']), String(result.insertedId));
});

add('insertOne keeps a caller-supplied _id of any type', async (t, c) => {
  await c.insertOne({ _id: 'exam-1' as never, name: 'x' });
  await c.insertOne({ _id: 7 as never, name: 'y' });
  t.is((await c.findOne({ _id: 'exam-1' as never }))?.['name'], 'x');
  t.is((await c.findOne({ _id: 7 as never }))?.['name'], 'y');
  t.is(await c.findOne({ _id: '7' as never }), null);
});

add('insertOne with an existing _id fails with E11000 on index _id_', async (t, c) => {
  await c.insertOne({ _id: 'a' as never });
  const error = await rejects(t, c.insertOne({ _id: 'a' as never }));
  t.is(error['code'], DUPLICATE_KEY);
  t.regex(String(error['message']), /E11000 duplicate key error.*index: _id_/);
});

add('insertMany returns insertedCount and insertedIds by position', async (t, c) => {
  const result = await c.insertMany([{ n: 1 }, { n: 2 }, { _id: 'three' as never, n: 3 }]);
  t.is(result.insertedCount, 3);
  t.deepEqual(Object.keys(result.insertedIds), ['0', '1', '2']);
  t.is(result.insertedIds[2] as unknown, 'three');
  t.is(await c.countDocuments(), 3);
});

add('ordered insertMany stops at the first duplicate and keeps the documents before it', async (t, c) => {
  const error = await rejects(t, c.insertMany([{ _id: 1, n: 1 }, { _id: 2 }, { _id: 1 }, { _id: 3 }] as never));
  t.true(isDuplicateKeyError(error));
  t.deepEqual(
    (await c.find({}).sort({ _id: 1 }).toArray()).map((doc) => doc['_id']),
    [1, 2],
  );
});

add('Date and ObjectId values round-trip with their types', async (t, c) => {
  const ref = new ObjectId();
  const at = new Date('2024-03-01T10:20:30.456Z');
  const old = new Date('1901-01-01T00:00:00.000Z');
  await c.insertOne({ ref, at, old });
  const doc = (await c.findOne({ ref }))!;
  t.true(doc['ref'] instanceof ObjectId);
  t.true((doc['ref'] as ObjectId).equals(ref));
  t.true(doc['at'] instanceof Date);
  t.is((doc['at'] as Date).getTime(), at.getTime());
  t.is((doc['old'] as Date).getTime(), old.getTime());
});

add('nested documents, arrays and null round-trip unchanged', async (t, c) => {
  const doc = { a: { b: { c: [1, 'two', { d: null }] } }, e: null, f: [], g: true, h: 1.5 };
  await c.insertOne({ ...doc });
  t.deepEqual(bare([(await c.findOne({}))!]), [doc]);
});

// ---- query (manual: Query Documents, Query Operators) -------------------------------------------------

add('findOne returns null when nothing matches', async (t, c) => {
  await seedPeople(c);
  t.is(await c.findOne({ name: 'zed' }), null);
});

add('dot notation matches a field of an embedded document', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { 'address.country': 'FR' }), ['bob']);
});

add('several fields are an implicit AND', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { city: 'Berlin', age: 30 }), ['ann']);
});

add('$gt $gte $lt $lte compare numbers', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { age: { $gt: 25 } }), ['ann', 'cid']);
  t.deepEqual(await names(c, { age: { $gte: 25, $lt: 35 } }), ['ann', 'bob']);
  t.deepEqual(await names(c, { age: { $lte: 25 } }), ['bob']);
});

add('comparison operators only match values of the same BSON type (type bracketing)', async (t, c) => {
  await seedPeople(c);
  t.false((await names(c, { age: { $gt: 0 } })).includes('dan'));
  t.deepEqual(await names(c, { age: { $gt: '' } }), ['dan']);
});

add('$in and $nin', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { city: { $in: ['Paris', 'Rome'] } }), ['bob', 'dan']);
  t.deepEqual(await names(c, { city: { $nin: ['Paris', 'Rome'] } }), ['ann', 'cid']);
});

add('$ne also matches documents without the field', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { 'address.country': { $ne: 'DE' } }), ['bob', 'cid', 'dan']);
});

add('{field: null} matches null and missing fields', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { nickname: null }), ['ann', 'bob', 'cid', 'dan']);
  t.deepEqual(await names(c, { address: null }), ['cid', 'dan']);
});

add('$exists', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { nickname: { $exists: true } }), ['cid']);
  t.deepEqual(await names(c, { address: { $exists: false } }), ['cid', 'dan']);
});

add('a scalar condition matches an array containing the value', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { tags: 'b' }), ['ann', 'bob']);
});

add('an array condition matches the exact array in order', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { tags: ['a', 'b'] }), ['ann']);
  t.deepEqual(await names(c, { tags: ['b', 'a'] }), []);
});

add('$all and $size', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { tags: { $all: ['b', 'a'] } }), ['ann']);
  t.deepEqual(await names(c, { tags: { $size: 0 } }), ['cid']);
});

add('$elemMatch needs one element to meet all conditions', async (t, c) => {
  await c.insertMany([
    {
      name: 'p',
      results: [
        { product: 'x', score: 8 },
        { product: 'y', score: 3 },
      ],
    },
    {
      name: 'q',
      results: [
        { product: 'x', score: 3 },
        { product: 'y', score: 8 },
      ],
    },
  ]);
  t.deepEqual(await names(c, { results: { $elemMatch: { product: 'x', score: { $gte: 8 } } } }), ['p']);
  t.deepEqual(await names(c, { 'results.product': 'x', 'results.score': { $gte: 8 } }), ['p', 'q']);
});

add('a range on an array field may be met by different elements', async (t, c) => {
  await c.insertMany([
    { name: 'p', dim: [14, 21] },
    { name: 'q', dim: [16] },
    { name: 'r', dim: [22, 30] },
  ]);
  t.deepEqual(await names(c, { dim: { $gt: 15, $lt: 20 } }), ['p', 'q']);
});

add('$or', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { $or: [{ city: 'Rome' }, { age: { $lt: 30 } }] }), ['bob', 'dan']);
});

add('$and may name the same field twice', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { $and: [{ age: { $ne: 25 } }, { age: { $exists: true } }] }), ['ann', 'cid', 'dan']);
});

add('$regex with options and $not', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { city: { $regex: '^ber', $options: 'i' } }), ['ann', 'cid']);
  t.deepEqual(await names(c, { city: /^R/ }), ['dan']);
  t.deepEqual(await names(c, { city: { $not: /^B/ } }), ['bob', 'dan']);
});

add('equality on an embedded document is exact, field order included', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { address: { zip: '75001', country: 'FR' } }), ['bob']);
  t.deepEqual(await names(c, { address: { country: 'FR', zip: '75001' } }), []);
});

// ---- projection, sort, skip, limit, cursors -------------------------------------------------------------

add('an inclusion projection returns the fields and _id', async (t, c) => {
  await seedPeople(c);
  const doc = (await c.findOne({ name: 'ann' }, { projection: { name: 1, 'address.zip': 1 } }))!;
  t.deepEqual(Object.keys(doc).sort(), ['_id', 'address', 'name']);
  t.deepEqual(doc['address'], { zip: '10115' });
});

add('an exclusion projection drops the fields', async (t, c) => {
  await seedPeople(c);
  const doc = (await c.findOne({ name: 'ann' }, { projection: { tags: 0, address: 0 } }))!;
  t.deepEqual(Object.keys(doc).sort(), ['_id', 'age', 'city', 'name']);
});

add('_id: 0 removes _id from an inclusion projection', async (t, c) => {
  await seedPeople(c);
  const docs = await c
    .find({ city: 'Berlin' }, { projection: { _id: 0, name: 1 } })
    .sort({ name: 1 })
    .toArray();
  t.deepEqual(docs, [{ name: 'ann' }, { name: 'cid' }]);
});

add('cursor.project() applies a projection', async (t, c) => {
  await seedPeople(c);
  const docs = await c.find({ name: 'bob' }).project({ _id: 0, city: 1 }).toArray();
  t.deepEqual(docs, [{ city: 'Paris' }]);
});

add('sort ascending, descending and by two keys', async (t, c) => {
  await seedPeople(c);
  t.deepEqual(await names(c, { age: { $type: 'number' } }, { age: -1 }), ['cid', 'ann', 'bob']);
  t.deepEqual(await names(c, {}, { city: 1, name: -1 }), ['cid', 'ann', 'bob', 'dan']);
});

add('sort orders values of different types by BSON order: missing/null, numbers, strings', async (t, c) => {
  await c.insertMany([{ name: 's', v: 'text' }, { name: 'n', v: 5 }, { name: 'z', v: null }, { name: 'm' }]);
  const order = await names(c, { name: { $in: ['s', 'n', 'z'] } }, { v: 1 });
  t.deepEqual(order, ['z', 'n', 's']);
});

add('skip and limit page through a sorted result', async (t, c) => {
  await c.insertMany(Array.from({ length: 10 }, (_v, i) => ({ i })));
  const docs = await c.find({}).sort({ i: -1 }).skip(2).limit(3).toArray();
  t.deepEqual(
    docs.map((doc) => doc['i']),
    [7, 6, 5],
  );
});

add('limit(0) means no limit', async (t, c) => {
  await c.insertMany(Array.from({ length: 5 }, (_v, i) => ({ i })));
  t.is((await c.find({}).limit(0).toArray()).length, 5);
});

add('cursor next() returns documents then null; for await iterates', async (t, c) => {
  await c.insertMany([{ i: 1 }, { i: 2 }]);
  const cursor = c.find({}).sort({ i: 1 });
  t.is((await cursor.next())?.['i'], 1);
  t.is((await cursor.next())?.['i'], 2);
  t.is(await cursor.next(), null);
  const seen: unknown[] = [];
  for await (const doc of c.find({}).sort({ i: -1 })) seen.push(doc['i']);
  t.deepEqual(seen, [2, 1]);
});

add('sort by _id follows ObjectId creation order', async (t, c) => {
  const ids = [new ObjectId(), new ObjectId(), new ObjectId()];
  await c.insertMany([
    { _id: ids[2], k: 2 },
    { _id: ids[0], k: 0 },
    { _id: ids[1], k: 1 },
  ] as never);
  t.deepEqual(
    (await c.find({}).sort({ _id: 1 }).toArray()).map((doc) => doc['k']),
    [0, 1, 2],
  );
});

// ---- counts and distinct --------------------------------------------------------------------------------

add('countDocuments with a filter, skip and limit', async (t, c) => {
  await seedPeople(c);
  t.is(await c.countDocuments({ city: 'Berlin' }), 2);
  t.is(await c.countDocuments({}, { skip: 1, limit: 2 }), 2);
  t.is(await c.countDocuments({}, { skip: 3 }), 1);
});

add(
  'countDocuments through an index: one key, $in with a value twice, and an index that becomes multikey',
  async (t, c) => {
    await c.createIndex({ channel: 1, at: 1 });
    await c.createIndex({ tags: 1 });
    await c.insertMany([
      { channel: 'a', at: 1, tags: 'x' },
      { channel: 'a', at: 2, tags: 'y' },
      { channel: 'b', at: 3, tags: 'x' },
      { channel: 7, at: 4, tags: 'z' },
    ]);
    t.is(await c.countDocuments({ channel: 'a' }), 2);
    t.is(await c.countDocuments({ channel: 7 }), 1);
    t.is(await c.countDocuments({ channel: '7' }), 0, 'a string is not the number');
    t.is(await c.countDocuments({ channel: { $in: ['a', 'b', 'a'] } }), 3);
    t.is(await c.countDocuments({ tags: 'x' }), 2);
    // The first array makes the tags index multikey: a document holding both values counts once.
    await c.insertOne({ channel: 'c', at: 5, tags: ['x', 'y'] });
    t.is(await c.countDocuments({ tags: { $in: ['x', 'y'] } }), 4);
    t.is(await c.countDocuments({ tags: 'x' }), 3);
  },
);

add('estimatedDocumentCount counts the collection; 0 when it does not exist', async (t, c, db) => {
  t.is(await db.collection(`${c.collectionName}_absent`).estimatedDocumentCount(), 0);
  await seedPeople(c);
  t.is(await c.estimatedDocumentCount(), 4);
});

add('distinct returns each value once and unwinds arrays', async (t, c) => {
  await seedPeople(c);
  t.deepEqual((await c.distinct('tags', {})).sort(), ['a', 'b']);
  t.deepEqual((await c.distinct('city', { age: { $type: 'number' } })).sort(), ['Berlin', 'Paris']);
  t.deepEqual((await c.distinct('address.country', {})).sort(), ['DE', 'FR']);
});

// ---- update (manual: Update Operators) -------------------------------------------------------------------

add('updateOne $set reports matched and modified', async (t, c) => {
  await seedPeople(c);
  const result = await c.updateOne({ name: 'bob' }, { $set: { city: 'Lyon', 'address.zip': '69001' } });
  t.is(result.matchedCount, 1);
  t.is(result.modifiedCount, 1);
  const bob = (await c.findOne({ name: 'bob' }))!;
  t.is(bob['city'], 'Lyon');
  t.deepEqual(bob['address'], { zip: '69001', country: 'FR' });
});

add('an update that changes nothing is matched but not modified', async (t, c) => {
  await seedPeople(c);
  const result = await c.updateOne({ name: 'bob' }, { $set: { city: 'Paris' } });
  t.is(result.matchedCount, 1);
  t.is(result.modifiedCount, 0);
});

add('updateOne with no match changes nothing', async (t, c) => {
  await seedPeople(c);
  const result = await c.updateOne({ name: 'zed' }, { $set: { city: 'X' } });
  t.deepEqual([result.matchedCount, result.modifiedCount, result.upsertedCount, result.upsertedId], [0, 0, 0, null]);
  t.is(await c.countDocuments(), 4);
});

add('updateOne changes only the first match; updateMany all', async (t, c) => {
  await seedPeople(c);
  await c.updateOne({ city: 'Berlin' }, { $set: { seen: 1 } });
  t.is(await c.countDocuments({ seen: 1 }), 1);
  const result = await c.updateMany({ city: 'Berlin' }, { $set: { seen: 2 } });
  t.is(result.matchedCount, 2);
  t.is(result.modifiedCount, 2);
});

add('$unset removes a field', async (t, c) => {
  await seedPeople(c);
  await c.updateOne({ name: 'ann' }, { $unset: { address: '' } });
  t.false('address' in (await c.findOne({ name: 'ann' }))!);
});

add('$inc adds and creates a missing field', async (t, c) => {
  await c.insertOne({ name: 'x', n: 1 });
  await c.updateOne({ name: 'x' }, { $inc: { n: 2, m: 5 } });
  const doc = (await c.findOne({ name: 'x' }))!;
  t.is(doc['n'], 3);
  t.is(doc['m'], 5);
});

add('$push appends; $each appends several; $push creates the array', async (t, c) => {
  await c.insertOne({ name: 'x', list: [1] });
  await c.updateOne({ name: 'x' }, { $push: { list: 2 } } as never);
  await c.updateOne({ name: 'x' }, { $push: { list: { $each: [3, 4] }, other: 'o' } } as never);
  const doc = (await c.findOne({ name: 'x' }))!;
  t.deepEqual(doc['list'], [1, 2, 3, 4]);
  t.deepEqual(doc['other'], ['o']);
});

add('$addToSet adds only missing values', async (t, c) => {
  await c.insertOne({ name: 'x', set: ['a'] });
  await c.updateOne({ name: 'x' }, { $addToSet: { set: 'a' } });
  await c.updateOne({ name: 'x' }, { $addToSet: { set: { $each: ['b', 'a', 'c'] } } } as never);
  t.deepEqual((await c.findOne({ name: 'x' }))!['set'], ['a', 'b', 'c']);
});

add('the all-positional $[] updates every array element', async (t, c) => {
  await c.insertOne({ name: 'x', grades: [80, 85, 90] });
  await c.updateOne({ name: 'x' }, { $inc: { 'grades.$[]': 10 } } as never);
  t.deepEqual((await c.findOne({ name: 'x' }))!['grades'], [90, 95, 100]);
});

add('$pull removes values matching a condition', async (t, c) => {
  await c.insertOne({ name: 'x', scores: [1, 5, 8, 3, 9] });
  await c.updateOne({ name: 'x' }, { $pull: { scores: { $gte: 8 } } } as never);
  t.deepEqual((await c.findOne({ name: 'x' }))!['scores'], [1, 5, 3]);
});

add('$pop removes the first or last element', async (t, c) => {
  await c.insertOne({ name: 'x', list: [1, 2, 3] });
  await c.updateOne({ name: 'x' }, { $pop: { list: -1 } } as never);
  t.deepEqual((await c.findOne({ name: 'x' }))!['list'], [2, 3]);
  await c.updateOne({ name: 'x' }, { $pop: { list: 1 } } as never);
  t.deepEqual((await c.findOne({ name: 'x' }))!['list'], [2]);
});

add('$rename moves a field', async (t, c) => {
  await c.insertOne({ name: 'x', old: 1 });
  await c.updateOne({ name: 'x' }, { $rename: { old: 'renamed' } });
  t.deepEqual(bare([(await c.findOne({ name: 'x' }))!]), [{ name: 'x', renamed: 1 }]);
});

add('$min and $max keep the smaller / larger value', async (t, c) => {
  await c.insertOne({ name: 'x', low: 5, high: 5 });
  await c.updateOne({ name: 'x' }, { $min: { low: 3 }, $max: { high: 3 } });
  const doc = (await c.findOne({ name: 'x' }))!;
  t.is(doc['low'], 3);
  t.is(doc['high'], 5);
});

add('$mul multiplies; a missing field becomes 0', async (t, c) => {
  await c.insertOne({ name: 'x', price: 2.5 });
  await c.updateOne({ name: 'x' }, { $mul: { price: 4, qty: 3 } });
  const doc = (await c.findOne({ name: 'x' }))!;
  t.is(doc['price'], 10);
  t.is(doc['qty'], 0);
});

add('$currentDate sets a Date', async (t, c) => {
  await c.insertOne({ name: 'x' });
  const before = Date.now();
  await c.updateOne({ name: 'x' }, { $currentDate: { touched: true } });
  const touched = (await c.findOne({ name: 'x' }))!['touched'];
  t.true(touched instanceof Date);
  t.true((touched as Date).getTime() >= before - 1000);
});

add('the positional $ updates the element the query matched', async (t, c) => {
  await c.insertOne({ name: 'x', grades: [80, 85, 90] });
  await c.updateOne({ name: 'x', grades: 85 }, { $set: { 'grades.$': 86 } });
  t.deepEqual((await c.findOne({ name: 'x' }))!['grades'], [80, 86, 90]);
});

add('arrayFilters choose the elements $[id] updates', async (t, c) => {
  await c.insertOne({ name: 'x', grades: [95, 92, 90, 150] });
  await c.updateOne({ name: 'x' }, { $set: { 'grades.$[big]': 100 } }, { arrayFilters: [{ big: { $gte: 100 } }] });
  t.deepEqual((await c.findOne({ name: 'x' }))!['grades'], [95, 92, 90, 100]);
});

add('upsert inserts the filter equalities plus the update and reports upsertedId', async (t, c) => {
  const result = await c.updateOne(
    { name: 'new', 'address.city': 'Oslo', age: { $gt: 10 } },
    { $set: { status: 'A' } },
    { upsert: true },
  );
  t.is(result.upsertedCount, 1);
  t.is(result.matchedCount, 0);
  t.true(result.upsertedId instanceof ObjectId);
  const doc = (await c.findOne({ _id: result.upsertedId! }))!;
  t.deepEqual(bare([doc]), [{ name: 'new', address: { city: 'Oslo' }, status: 'A' }]);
});

add('$setOnInsert applies only when the upsert inserts', async (t, c) => {
  await c.updateOne({ key: 'k' }, { $set: { n: 1 }, $setOnInsert: { created: 'first' } }, { upsert: true });
  await c.updateOne({ key: 'k' }, { $set: { n: 2 }, $setOnInsert: { created: 'second' } }, { upsert: true });
  t.deepEqual(bare(await c.find({}).toArray()), [{ key: 'k', n: 2, created: 'first' }]);
});

add('upsert takes _id from an equality on _id', async (t, c) => {
  const result = await c.updateOne({ _id: 'fixed' as never }, { $inc: { n: 1 } }, { upsert: true });
  t.is(result.upsertedId as unknown, 'fixed');
  await c.updateOne({ _id: 'fixed' as never }, { $inc: { n: 1 } }, { upsert: true });
  t.is((await c.findOne({ _id: 'fixed' as never }))!['n'], 2);
});

add('an update that changes _id fails (ImmutableField, code 66)', async (t, c) => {
  await c.insertOne({ _id: 'a' as never, n: 1 });
  const error = await rejects(t, c.updateOne({ _id: 'a' as never }, { $set: { _id: 'b' } } as never));
  t.is(error['code'], 66);
  t.is((await c.findOne({ _id: 'a' as never }))!['n'], 1);
});

add('updateOne refuses an update without operators', async (t, c) => {
  await c.insertOne({ name: 'x' });
  await t.throwsAsync(c.updateOne({ name: 'x' }, { name: 'y' } as never));
  t.is(await c.countDocuments({ name: 'x' }), 1);
});

add('replaceOne replaces the whole document and keeps _id', async (t, c) => {
  const { insertedId } = await c.insertOne({ name: 'x', a: 1, b: 2 });
  const result = await c.replaceOne({ name: 'x' }, { name: 'y', c: 3 });
  t.is((result as Document)['modifiedCount'], 1);
  const doc = (await c.findOne({ _id: insertedId }))!;
  t.deepEqual(bare([doc]), [{ name: 'y', c: 3 }]);
});

add('replaceOne with upsert inserts the replacement', async (t, c) => {
  const result = (await c.replaceOne({ name: 'x' }, { name: 'x', v: 1 }, { upsert: true })) as Document;
  t.is(result['upsertedCount'], 1);
  t.deepEqual(bare(await c.find({}).toArray()), [{ name: 'x', v: 1 }]);
});

// ---- delete ----------------------------------------------------------------------------------------------

add('deleteOne deletes one matching document', async (t, c) => {
  await seedPeople(c);
  const result = await c.deleteOne({ city: 'Berlin' });
  t.is(result.deletedCount, 1);
  t.is(await c.countDocuments({ city: 'Berlin' }), 1);
});

add('deleteMany deletes every match and reports the count', async (t, c) => {
  await seedPeople(c);
  t.is((await c.deleteMany({ age: { $type: 'number' } })).deletedCount, 3);
  t.deepEqual(await names(c, {}), ['dan']);
  t.is((await c.deleteMany({})).deletedCount, 1);
  t.is(await c.countDocuments(), 0);
});

// ---- findOneAndUpdate / findOneAndDelete (manual: db.collection.findOneAndUpdate) --------------------------

add('findOneAndUpdate returns the document before the update by default', async (t, c) => {
  await c.insertOne({ name: 'x', n: 1 });
  const before = await c.findOneAndUpdate({ name: 'x' }, { $inc: { n: 1 } }, {});
  t.is(before?.['n'], 1);
  t.is((await c.findOne({ name: 'x' }))!['n'], 2);
});

add("findOneAndUpdate returnDocument: 'after' returns the updated document", async (t, c) => {
  await c.insertOne({ name: 'x', n: 1 });
  const after = await c.findOneAndUpdate({ name: 'x' }, { $inc: { n: 1 } }, { returnDocument: 'after' });
  t.is(after?.['n'], 2);
});

add('findOneAndUpdate with sort updates the first document in that order', async (t, c) => {
  await c.insertMany([
    { q: 'a', p: 2 },
    { q: 'b', p: 9 },
    { q: 'c', p: 5 },
  ]);
  const claimed = await c.findOneAndUpdate(
    { taken: { $exists: false } },
    { $set: { taken: true } },
    { sort: { p: -1 }, returnDocument: 'after' },
  );
  t.is(claimed?.['q'], 'b');
  const next = await c.findOneAndUpdate(
    { taken: { $exists: false } },
    { $set: { taken: true } },
    { sort: { p: -1 }, returnDocument: 'after' },
  );
  t.is(next?.['q'], 'c');
});

add('findOneAndUpdate upsert: after returns the new document, before returns null', async (t, c) => {
  const inserted = await c.findOneAndUpdate(
    { key: 'k' },
    { $set: { v: 1 } },
    { upsert: true, returnDocument: 'after' },
  );
  t.deepEqual(bare([inserted!]), [{ key: 'k', v: 1 }]);
  const none = await c.findOneAndUpdate({ key: 'j' }, { $set: { v: 2 } }, { upsert: true, returnDocument: 'before' });
  t.is(none, null);
  t.is(await c.countDocuments(), 2);
});

add('findOneAndUpdate applies a projection to the returned document', async (t, c) => {
  await c.insertOne({ name: 'x', n: 1, big: 'data' });
  const doc = await c.findOneAndUpdate(
    { name: 'x' },
    { $set: { n: 2 } },
    { returnDocument: 'after', projection: { _id: 0, n: 1 } },
  );
  t.deepEqual(doc, { n: 2 });
});

add('findOneAndUpdate returns null when nothing matches and does not insert', async (t, c) => {
  t.is(await c.findOneAndUpdate({ name: 'x' }, { $set: { n: 2 } }, { returnDocument: 'after' }), null);
  t.is(await c.countDocuments(), 0);
});

add('findOneAndDelete returns the deleted document', async (t, c) => {
  await c.insertMany([{ name: 'x' }, { name: 'y' }]);
  const deleted = await c.findOneAndDelete({ name: 'y' });
  t.is(deleted?.['name'], 'y');
  t.deepEqual(await names(c, {}), ['x']);
  t.is(await c.findOneAndDelete({ name: 'y' }), null);
});

// ---- aggregation (manual: Aggregation Pipeline) -------------------------------------------------------------

add('aggregate $match, $group with $sum, $sort', async (t, c) => {
  await seedPeople(c);
  const rows = await c
    .aggregate([
      { $match: { age: { $type: 'number' } } },
      { $group: { _id: '$city', total: { $sum: '$age' }, n: { $sum: 1 } } },
      { $sort: { _id: 1 } },
    ])
    .toArray();
  t.deepEqual(rows, [
    { _id: 'Berlin', total: 65, n: 2 },
    { _id: 'Paris', total: 25, n: 1 },
  ]);
});

add('aggregate $unwind and $project', async (t, c) => {
  await seedPeople(c);
  const rows = await c
    .aggregate([{ $unwind: '$tags' }, { $project: { _id: 0, name: 1, tag: '$tags' } }, { $sort: { name: 1, tag: 1 } }])
    .toArray();
  t.deepEqual(rows, [
    { name: 'ann', tag: 'a' },
    { name: 'ann', tag: 'b' },
    { name: 'bob', tag: 'b' },
  ]);
});

add('aggregate $lookup joins another collection', async (t, c, db) => {
  const other = db.collection(`${c.collectionName}_facilities`);
  await other.insertMany([
    { code: 'F1', label: 'North' },
    { code: 'F2', label: 'South' },
  ]);
  await c.insertMany([{ exam: 1, facility: 'F2' }]);
  const rows = await c
    .aggregate([
      { $lookup: { from: other.collectionName, localField: 'facility', foreignField: 'code', as: 'f' } },
      { $project: { _id: 0, exam: 1, label: { $first: '$f.label' } } },
    ])
    .toArray();
  t.deepEqual(rows, [{ exam: 1, label: 'South' }]);
});

add('aggregate iterates with for await', async (t, c) => {
  await c.insertMany([{ g: 'a' }, { g: 'b' }, { g: 'a' }]);
  const seen: string[] = [];
  for await (const row of c.aggregate([{ $group: { _id: '$g' } }, { $sort: { _id: 1 } }]))
    seen.push(String(row['_id']));
  t.deepEqual(seen, ['a', 'b']);
});

// ---- indexes (manual: Indexes, Unique Indexes, Sparse Indexes, Partial Indexes, Multikey Indexes) ---------

add('createIndex names indexes field_direction', async (t, c) => {
  t.is(await c.createIndex({ name: 1 }), 'name_1');
  t.is(await c.createIndex({ a: 1, b: -1 }), 'a_1_b_-1');
  t.is(await c.createIndex({ 'x.y': 1 }, { name: 'custom' }), 'custom');
});

add('createIndex with the same key and options again is a no-op returning the name', async (t, c) => {
  t.is(await c.createIndex({ name: 1 }, { unique: true }), 'name_1');
  t.is(await c.createIndex({ name: 1 }, { unique: true }), 'name_1');
});

add('a unique index refuses a duplicate insert with E11000 naming the index and key', async (t, c) => {
  await c.createIndex({ number: 1 }, { unique: true });
  await c.insertOne({ number: 'EX-1' });
  const error = await rejects(t, c.insertOne({ number: 'EX-1' }));
  t.is(error['code'], DUPLICATE_KEY);
  t.regex(
    String(error['message']),
    /E11000 duplicate key error collection: .*index: number_1 dup key: \{ number: "EX-1" \}/,
  );
  t.deepEqual(error['keyValue'], { number: 'EX-1' });
  t.is(await c.countDocuments(), 1);
});

add('a unique index refuses an update that would duplicate a key', async (t, c) => {
  await c.createIndex({ number: 1 }, { unique: true });
  await c.insertMany([{ number: 1 }, { number: 2 }]);
  const error = await rejects(t, c.updateOne({ number: 2 }, { $set: { number: 1 } }));
  t.is(error['code'], DUPLICATE_KEY);
  t.deepEqual(
    (await c.find({}).sort({ number: 1 }).toArray()).map((doc) => doc['number']),
    [1, 2],
  );
  await c.updateOne({ number: 2 }, { $set: { number: 3 } });
  await c.insertOne({ number: 2 });
  t.is(await c.countDocuments(), 3);
});

add('a unique index lets only one document lack the field', async (t, c) => {
  await c.createIndex({ email: 1 }, { unique: true });
  await c.insertOne({ name: 'a' });
  const error = await rejects(t, c.insertOne({ name: 'b' }));
  t.is(error['code'], DUPLICATE_KEY);
});

add('a unique sparse index allows many documents without the field', async (t, c) => {
  await c.createIndex({ email: 1 }, { unique: true, sparse: true });
  await c.insertMany([{ name: 'a' }, { name: 'b' }, { email: 'x@y' }]);
  await t.throwsAsync(c.insertOne({ email: 'x@y' }));
  t.is(await c.countDocuments(), 3);
});

add('a unique partial index applies only to documents its filter matches', async (t, c) => {
  await c.createIndex({ accession: 1 }, { unique: true, partialFilterExpression: { active: true } });
  await c.insertMany([
    { accession: 'A', active: false },
    { accession: 'A', active: true },
    { accession: 'A', active: false },
  ]);
  const error = await rejects(t, c.insertOne({ accession: 'A', active: true }));
  t.is(error['code'], DUPLICATE_KEY);
  t.is(await c.countDocuments({ accession: 'A' }), 3);
});

add('a unique compound index refuses only the same combination', async (t, c) => {
  await c.createIndex({ facility: 1, number: 1 }, { unique: true });
  await c.insertMany([
    { facility: 'F1', number: 1 },
    { facility: 'F2', number: 1 },
    { facility: 'F1', number: 2 },
  ]);
  const error = await rejects(t, c.insertOne({ facility: 'F2', number: 1 }));
  t.is(error['code'], DUPLICATE_KEY);
  t.regex(String(error['message']), /index: facility_1_number_1/);
});

add('creating a unique index over duplicates fails with E11000', async (t, c) => {
  await c.insertMany([{ k: 1 }, { k: 1 }]);
  const error = await rejects(t, c.createIndex({ k: 1 }, { unique: true }));
  t.is(error['code'], DUPLICATE_KEY);
  await c.insertOne({ k: 1 });
  t.is(await c.countDocuments({ k: 1 }), 3);
});

add('a unique index on an array field compares each element', async (t, c) => {
  await c.createIndex({ codes: 1 }, { unique: true });
  await c.insertOne({ codes: ['a', 'b'] });
  await c.insertOne({ codes: ['c'] });
  const error = await rejects(t, c.insertOne({ codes: ['d', 'b'] }));
  t.is(error['code'], DUPLICATE_KEY);
});

add('an indexed field that holds arrays still matches by element (multikey)', async (t, c) => {
  await c.createIndex({ tags: 1 });
  await seedPeople(c);
  t.deepEqual(await names(c, { tags: 'b' }), ['ann', 'bob']);
  t.deepEqual(await names(c, { tags: { $in: ['a', 'zz'] } }), ['ann']);
});

add('an indexed range on an array field matches when different elements meet the bounds', async (t, c) => {
  await c.createIndex({ dim: 1 });
  await c.insertMany([
    { name: 'p', dim: [14, 21] },
    { name: 'q', dim: 16 },
    { name: 'r', dim: [22, 30] },
  ]);
  t.deepEqual(await names(c, { dim: { $gt: 15, $lt: 20 } }), ['p', 'q']);
});

add('an indexed equality distinguishes numbers, strings and Dates', async (t, c) => {
  await c.createIndex({ v: 1 });
  await c.insertMany([
    { name: 'n', v: 5 },
    { name: 's', v: '5' },
    { name: 'd', v: new Date(5) },
    { name: 'f', v: 5.0 },
  ]);
  t.deepEqual(await names(c, { v: 5 }), ['f', 'n']);
  t.deepEqual(await names(c, { v: '5' }), ['s']);
  t.deepEqual(await names(c, { v: new Date(5) }), ['d']);
  t.deepEqual(await names(c, { v: { $in: [5, '5'] } }), ['f', 'n', 's']);
});

add('an indexed Date range finds the documents in it', async (t, c) => {
  await c.createIndex({ at: 1 });
  const day = (d: number): Date => new Date(Date.UTC(2024, 0, d));
  await c.insertMany([1, 2, 3, 4, 5].map((d) => ({ name: `d${d}`, at: day(d) })));
  t.deepEqual(await names(c, { at: { $gte: day(2), $lt: day(4) } }), ['d2', 'd3']);
  t.deepEqual(await names(c, { at: { $lte: day(1) } }), ['d1']);
});

add('an indexed dotted path through an array of documents matches any element', async (t, c) => {
  await c.createIndex({ 'items.code': 1 });
  await c.insertMany([
    { name: 'o1', items: [{ code: 'CT' }, { code: 'MR' }] },
    { name: 'o2', items: [{ code: 'US' }] },
  ]);
  t.deepEqual(await names(c, { 'items.code': 'MR' }), ['o1']);
});

add('documents updated out of an indexed value are no longer found by it', async (t, c) => {
  await c.createIndex({ state: 1 });
  await c.insertMany([
    { name: 'a', state: 'queued' },
    { name: 'b', state: 'queued' },
  ]);
  await c.updateOne({ name: 'a' }, { $set: { state: 'sent' } });
  await c.deleteOne({ name: 'b' });
  t.deepEqual(await names(c, { state: 'queued' }), []);
  t.deepEqual(await names(c, { state: 'sent' }), ['a']);
});

add(
  'a sort on an indexed field orders mixed types as BSON does: missing/null, numbers, strings, Dates',
  async (t, c) => {
    await c.createIndex({ v: 1 });
    await c.insertMany([
      { name: 'd', v: new Date(0) },
      { name: 's', v: 'a' },
      { name: 'm' },
      { name: 'n2', v: 2.5 },
      { name: 'n1', v: -1 },
      { name: 'z', v: null },
    ]);
    const ascending = await c.find({}).sort({ v: 1 }).limit(10).toArray();
    t.deepEqual(
      ascending.slice(2).map((doc) => doc['name']),
      ['n1', 'n2', 's', 'd'],
    );
    t.deepEqual(
      ascending
        .slice(0, 2)
        .map((doc) => doc['name'])
        .sort(),
      ['m', 'z'],
    );
    const descending = await c
      .find({ v: { $exists: true } })
      .sort({ v: -1 })
      .limit(3)
      .toArray();
    t.deepEqual(
      descending.map((doc) => doc['name']),
      ['d', 's', 'n2'],
    );
  },
);

add('queue claims with a compound index take the oldest queued item first', async (t, c) => {
  await c.createIndex({ state: 1, at: 1 });
  await c.insertMany([5, 1, 4, 2, 3].map((at) => ({ state: 'queued', at })));
  await c.updateOne({ at: 1 }, { $set: { state: 'sent' } });
  const order: unknown[] = [];
  for (;;) {
    const claimed = await c.findOneAndUpdate(
      { state: 'queued' },
      { $set: { state: 'sending' } },
      { sort: { at: 1 }, returnDocument: 'after' },
    );
    if (claimed === null) break;
    order.push(claimed['at']);
  }
  t.deepEqual(order, [2, 3, 4, 5]);
  t.deepEqual((await c.find({ state: 'queued' }).sort({ at: -1 }).limit(2).toArray()).length, 0);
});

add('findOne with a sort and skip on an indexed field pages in order', async (t, c) => {
  await c.createIndex({ n: -1 });
  await c.insertMany(Array.from({ length: 20 }, (_v, n) => ({ n, even: n % 2 === 0 })));
  t.is((await c.findOne({ even: true }, { sort: { n: -1 }, skip: 2 }))?.['n'], 14);
  t.deepEqual(
    (await c.find({ even: false }).sort({ n: 1 }).skip(1).limit(3).toArray()).map((doc) => doc['n']),
    [3, 5, 7],
  );
});

add('an indexed equality combined with another operator on the same field applies both', async (t, c) => {
  await c.createIndex({ code: 1 });
  await c.insertMany([
    { code: 'A', n: 1 },
    { code: 'B', n: 2 },
  ]);
  t.is(await c.countDocuments({ code: { $eq: 'A', $ne: 'A' } }), 0);
  t.is(await c.countDocuments({ code: { $in: ['A', 'B'], $nin: ['B'] } }), 1);
  t.is(await c.countDocuments({ _id: { $in: (await c.find({}).toArray()).map((doc) => doc._id), $exists: false } }), 0);
});

add('a sorted find without a limit on a compound index returns every match in order', async (t, c) => {
  await c.createIndex({ queue: 1, seq: 1 });
  await c.insertMany([
    { queue: 'a', seq: 3, due: 1 },
    { queue: 'b', seq: 1, due: 1 },
    { queue: 'a', seq: 1, due: 5 },
    { queue: 'a', seq: 2, due: 1 },
    { queue: 'a', seq: 4, due: 1 },
  ]);
  const docs = await c
    .find({ queue: 'a', due: { $lte: 2 } })
    .sort({ seq: 1 })
    .toArray();
  t.deepEqual(
    docs.map((doc) => doc['seq']),
    [2, 3, 4],
  );
  const reversed = await c.find({ queue: 'a' }).sort({ seq: -1 }).toArray();
  t.deepEqual(
    reversed.map((doc) => doc['seq']),
    [4, 3, 2, 1],
  );
});

// Index maintenance under updates that touch one field: reads through each index see the new values only
// (manual, "Multikey Indexes": an index on a field inside array elements has an entry per element).
add('updateMany and findOneAndUpdate keep indexes right and return the image asked for', async (t, c) => {
  await c.createIndex({ status: 1 });
  await c.createIndex({ 'outbox.id': 1 });
  await c.insertMany([
    { key: 'a', status: 'new', version: 1, outbox: [{ id: 'e1' }] },
    { key: 'b', status: 'new', version: 1, outbox: [{ id: 'e2' }, { id: 'e3' }] },
    { key: 'c', status: 'old', version: 2, outbox: [] },
  ]);
  const keys = async (filter: Document) => (await c.find(filter).sort({ key: 1 }).toArray()).map((doc) => doc['key']);
  const emptied = await c.updateMany({ version: 1 }, { $set: { outbox: [] }, $inc: { version: 1 } });
  t.is(emptied.modifiedCount, 2);
  t.deepEqual(await keys({ 'outbox.id': 'e2' }), []);
  t.deepEqual(await keys({ 'outbox.id': { $gt: '' } }), []);
  t.deepEqual(await keys({ version: 2 }), ['a', 'b', 'c']);
  const before = await c.findOneAndUpdate({ key: 'a' }, { $set: { status: 'done' } }, {});
  t.is(before?.['status'], 'new', 'the default returns the document as it was');
  const after = await c.findOneAndUpdate({ key: 'b' }, { $set: { status: 'done' } }, { returnDocument: 'after' });
  t.is(after?.['status'], 'done');
  t.deepEqual(await keys({ status: 'done' }), ['a', 'b']);
  t.deepEqual(await keys({ status: 'new' }), []);
});

add(
  'updates keep every index right: array-position, nested and unrelated fields, and whole-object replacement',
  async (t, c) => {
    await c.createIndex({ 'destinations.state': 1 });
    await c.createIndex({ 'lease.owner': 1 });
    await c.createIndex({ kind: 1 });
    await c.insertMany([
      { key: 'm1', kind: 'orm', lease: { owner: 'p1' }, destinations: [{ state: 'queued' }, { state: 'queued' }] },
      { key: 'm2', kind: 'adt', lease: { owner: 'p1' }, destinations: [{ state: 'queued' }] },
    ]);
    await c.updateOne({ key: 'm1' }, { $set: { 'destinations.1.state': 'sent' } });
    await c.updateOne({ key: 'm2' }, { $set: { lease: { owner: 'p2' } }, $inc: { tries: 1 } });
    await c.updateOne({ key: 'm1' }, { $set: { note: 'unrelated' } });
    const ids = async (filter: Document) => (await c.find(filter).sort({ key: 1 }).toArray()).map((doc) => doc['key']);
    t.deepEqual(await ids({ 'destinations.state': 'sent' }), ['m1']);
    t.deepEqual(await ids({ 'destinations.state': 'queued' }), ['m1', 'm2'], 'm1 still has a queued destination');
    await c.updateOne({ key: 'm1' }, { $set: { 'destinations.0.state': 'sent' } });
    t.deepEqual(await ids({ 'destinations.state': 'queued' }), ['m2']);
    t.deepEqual(await ids({ 'lease.owner': 'p1' }), ['m1']);
    t.deepEqual(await ids({ 'lease.owner': 'p2' }), ['m2']);
    t.deepEqual(await ids({ kind: 'orm' }), ['m1']);
  },
);

add('countDocuments on an indexed field counts each document once (multikey, $in, _id)', async (t, c) => {
  await c.createIndex({ tags: 1, n: 1 });
  await c.insertMany([
    { _id: 'a', tags: ['x', 'y'], n: 1 },
    { _id: 'b', tags: ['x', 'x'], n: 2 },
    { _id: 'c', tags: 'y', n: 3 },
    { _id: 'd', n: 4 },
  ] as never);
  t.is(await c.countDocuments({ tags: 'x' }), 2);
  t.is(await c.countDocuments({ tags: { $in: ['x', 'y'] } }), 3);
  t.is(await c.countDocuments({ tags: 'z' }), 0);
  t.is(await c.countDocuments({ _id: { $in: ['a', 'a', 'd', 'e'] as never } }), 2);
  t.is(await c.countDocuments({ tags: 'x', n: 2 }), 1);
});
