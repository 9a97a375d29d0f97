// The direct matcher for plain equalities and comparisons must answer exactly as mingo does (the engine's
// filters otherwise), on documents with every kind of value a condition can meet along a path.
import test from 'ava';
import { Long } from 'bson';
import { Query } from 'mingo';
import { ObjectId, type Document } from 'mongodb';
import { plainMatcher } from '../../store/embedded/plain-matcher.ts';
import { compileFilter } from '../../store/embedded/matcher.ts';
import { queryOptions } from '../../store/embedded/query-options.ts';

const id = new ObjectId('65a000000000000000000001');
const when = new Date('2026-11-23T10:00:00Z');

const docs: Document[] = [
  { _id: 1, status: 'active', facility: 'VALLEY', n: 5, flag: true, at: when, ref: id },
  { _id: 2, status: 'active', facility: 'NORTH', n: 5.0, flag: false, at: new Date(when.getTime() + 1) },
  { _id: 3, status: ['active', 'draft'], tags: [], n: [1, [5]], nested: { deep: { v: 'x' } } },
  {
    _id: 4,
    identifiers: [
      { system: 'a', value: 'X1' },
      { system: 'b', value: 'X2' },
    ],
    items: [{ code: ['p', 'q'] }, { code: 'r' }],
  },
  { _id: 5, status: null, facility: { code: 'VALLEY' }, n: '5', ref: new ObjectId('65a000000000000000000002') },
  { _id: 6, nested: { deep: [{ v: 'x' }, { v: 'y' }] }, n: -0, items: { 0: { code: 'r' } } },
  { _id: 7 },
];

const filters: Document[] = [
  { status: 'active' },
  { status: 'active', facility: 'VALLEY' },
  { n: 5 },
  { n: 0 },
  { flag: false },
  { at: when },
  { ref: id },
  { ref: new ObjectId('65a000000000000000000002') },
  { 'nested.deep.v': 'x' },
  { 'nested.deep.v': 'y' },
  { 'identifiers.value': 'X2' },
  { 'identifiers.value': { $in: ['X9', 'X1'] } },
  { 'items.code': 'q' },
  { 'items.code': 'r' },
  { 'items.0.code': 'p' },
  { 'items.0.code': 'r' },
  { status: { $eq: 'draft' } },
  { facility: 'VALLEY', status: { $in: ['active', 'cancelled'] } },
  { missing: 'x' },
  { _id: 4 },
  { n: { $gt: 4 } },
  { n: { $gte: 5 } },
  { n: { $lt: 0 } },
  { n: { $lte: 0 } },
  { n: { $lt: 2 } },
  { n: { $gt: -1 } },
  { at: { $gt: when } },
  { at: { $gte: when } },
  { at: { $lt: new Date(when.getTime() + 1) } },
  { at: { $lte: new Date(0) } },
  { status: 'active', n: { $gt: 1 } },
  { 'nested.deep.v': { $gt: 1 } },
  { _id: { $gte: 3 } },
  { status: { $gt: 'active' } },
  { status: { $lt: 'b' } },
  { 'identifiers.value': { $gt: '' } },
  { 'identifiers.value': { $gte: 'X2' } },
  { n: { $gt: '4' } },
  { facility: { $lte: 'VALLEY' } },
];

for (const filter of filters) {
  test(`same answers as mingo: ${JSON.stringify(filter)}`, (t) => {
    const ours = plainMatcher(filter, () => {
      throw new Error('no document here needs mingo');
    });
    t.truthy(ours, 'a plain filter takes the direct path');
    const theirs = new Query(filter, queryOptions);
    t.deepEqual(
      docs.filter((doc) => ours!.test(doc)).map((doc) => doc['_id']),
      docs.filter((doc) => theirs.test(doc)).map((doc) => doc['_id']),
    );
  });
}

test('a BSON number wrapper in a document is left to mingo, which compares it by value', (t) => {
  let asked = 0;
  const matcher = plainMatcher({ n: 5 }, () => {
    asked++;
    return new Query({ n: 5 }, queryOptions);
  });
  t.true(
    matcher!.test({ n: Long.fromNumber(5) }) === new Query({ n: 5 }, queryOptions).test({ n: Long.fromNumber(5) }),
  );
  t.is(asked, 1);
  t.true(compileFilter({ n: 5 }).test({ n: 5 }));
});

test('a string beyond U+D7FF in a document is left to mingo (UTF-8 and UTF-16 order it differently)', (t) => {
  let asked = 0;
  const filter = { name: { $gt: 'a' } };
  const matcher = plainMatcher(filter, () => {
    asked++;
    return new Query(filter, queryOptions);
  });
  for (const name of ['😀', '\uFF5A', 'b'])
    t.is(matcher!.test({ name }), new Query(filter, queryOptions).test({ name }), name);
  t.is(asked, 1);
});

test('filters with other operators, documents, arrays, null or regexes as values are not taken', (t) => {
  const general = () => ({ test: () => true });
  // Two comparisons on one path may be met by two different array elements; strings compare by UTF-8 bytes.
  const comparisons = [
    { a: { $gt: 1, $lt: 5 } },
    { a: { $gt: '\uFF5A' } },
    { a: { $lt: '😀' } },
    { a: { $gt: null } },
    { a: { $lt: NaN } },
    { a: { $gte: new Date(Number.NaN) } },
    { a: { $ne: 1 } },
  ];
  for (const filter of [
    ...comparisons,
    { $or: [{ a: 1 }] },
    { a: { b: 1 } },
    { a: [1, 2] },
    { a: null },
    { a: /x/ },
    { a: { $in: [] } },
    { a: { $in: [{ b: 1 }] } },
    { a: NaN },
  ]) {
    t.is(plainMatcher(filter as Document, general), undefined, JSON.stringify(filter));
  }
});
