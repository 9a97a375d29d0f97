// The direct path for plain updates must give exactly what mingo gives (values, field order, types), and must
// hand everything else to mingo without touching the document.
import test from 'ava';
import { serialize } from 'bson';
import { update as mingoUpdate } from 'mingo';
import { ObjectId, type Document } from 'mongodb';
import { applyPlainUpdate } from '../../store/embedded/plain-update.ts';
import { queryOptions } from '../../store/embedded/query-options.ts';

const base = (): Document => ({
  _id: new ObjectId('65a000000000000000000001'),
  state: 'queued',
  attempts: 2,
  lease: { owner: 'p1', until: new Date(1000) },
  history: [{ at: 1 }],
  rows: [{ n: 1 }, { n: 2 }],
  tags: ['a'],
  seen: [3],
  nested: { deep: { n: 1 } },
  nothing: null,
  price: 1.5,
});

const direct: Array<[string, Document]> = [
  ['$set of existing and new fields', { $set: { state: 'sent', sentAt: new Date(5000), 'lease.owner': 'p2' } }],
  ['$set creating parents', { $set: { 'a.b.c': 1, 'a.b.d': 'x', 'a.e': [1, { f: 2 }] } }],
  ['$set replacing an object and an array', { $set: { lease: { owner: 'p3' }, history: [] } }],
  ['$set to the same value', { $set: { state: 'queued', attempts: 2 } }],
  ['$unset present, absent and under a missing parent', { $unset: { lease: '', missing: 1, 'no.such.path': '' } }],
  ['$unset a nested field', { $unset: { 'nested.deep.n': 1 } }],
  ['$inc existing, new and nested', { $inc: { attempts: 1, fresh: 3, 'nested.deep.n': -1, 'made.count': 1 } }],
  ['$inc a double', { $inc: { price: 0.25 } }],
  ['$max number up, number down and new', { $max: { attempts: 5, price: 1, top: 7 } }],
  ['$max date', { $max: { 'lease.until': new Date(2000) } }],
  ['$max date lower', { $max: { 'lease.until': new Date(10) } }],
  ['$max ISO time later, earlier and new', { $max: { state: 'x', 'lease.owner': 'a', at: '2026-12-05T21:00:00Z' } }],
  ['operators together', { $set: { state: 'sent' }, $inc: { attempts: 1 }, $unset: { lease: 1 }, $max: { peak: 3 } }],
  ['empty operator', { $set: {} }],
  ['a field of an array element', { $set: { 'history.0.at': 2, 'history.0.by': 'x' }, $inc: { 'rows.1.n': 1 } }],
  ['an existing array element', { $set: { 'rows.0': { n: 9 } } }],
  ['$addToSet new, present and on a missing field', { $addToSet: { tags: 'b', seen: 3, 'made.list': true } }],
  [
    '$push a document, a scalar and onto a missing field',
    { $push: { history: { at: 2, by: 'x' }, tags: 'a', fresh: 1 } },
  ],
  [
    '$push $each, empty $each and nested',
    { $push: { history: { $each: [{ at: 2 }, { at: 3 }] }, seen: { $each: [] }, 'a.b': { $each: [1] } } },
  ],
  ['$push an array as one element and a date', { $push: { rows: [1, 2], 'lease.log': new Date(3000) } }],
  [
    '$push beside $set, as an exam change writes',
    { $set: { state: 'final', version: 3 }, $push: { history: { at: 4 }, outbox: { $each: [{ type: 'x' }] } } },
  ],
];

for (const [name, update] of direct) {
  test(`direct: ${name}`, (t) => {
    const ours = base();
    const theirs = base();
    t.deepEqual(
      applyPlainUpdate(ours, update),
      Object.values(update).flatMap((fields) => Object.keys(fields as Document)),
      'applied, naming every path it updated',
    );
    mingoUpdate(theirs, update, undefined, undefined, { queryOptions });
    // Byte-equal BSON: same values, same types, same field order.
    t.deepEqual(serialize(ours), serialize(theirs));
  });
}

const refused: Array<[string, Document]> = [
  ['an array index past the end', { $set: { 'history.3.at': 2 } }],
  ['$unset of an array element', { $unset: { 'rows.0': 1 } }],
  ['an integer-like field of an object', { $set: { 'nested.7': 1 } }],
  ['an integer-like field under a missing parent', { $set: { 'fresh.0.x': 1 } }],
  ['an integer-like top-level field', { $set: { '12': 1 } }],
  ['a named field of an array', { $set: { 'rows.n': 1 } }],
  ['positional', { $set: { 'history.$.at': 2 } }],
  ['a parent that is an array', { $set: { 'history.at': 2 } }],
  ['a parent that is null', { $set: { 'nothing.x': 1 } }],
  ['a parent that is a scalar', { $inc: { 'state.x': 1 } }],
  ['_id', { $set: { _id: 1 } }],
  ['conflicting paths', { $set: { lease: {}, 'lease.owner': 'x' } }],
  ['the same path in two operators', { $set: { attempts: 1 }, $inc: { attempts: 1 } }],
  ['$inc of a string', { $inc: { state: 1 } }],
  ['$inc by a non-number', { $inc: { attempts: '1' } }],
  ['$max across types', { $max: { state: 3 } }],
  ['$max of a string on a number', { $max: { attempts: '3' } }],
  ['$max of a non-ASCII string', { $max: { state: 'ü' } }],
  ['another operator', { $pull: { history: { at: 1 } } }],
  ['$push onto a field that is not an array', { $push: { state: 'x' } }],
  ['$push with $slice', { $push: { tags: { $each: ['x'], $slice: -1 } } }],
  ['$push with $position', { $push: { tags: { $each: ['x'], $position: 0 } } }],
  ['$push with $each that is not an array', { $push: { tags: { $each: 'x' } } }],
  ['$push of a document mixing $each and fields', { $push: { tags: { $each: ['x'], y: 1 } } }],
  ['$addToSet of an object', { $addToSet: { tags: { a: 1 } } }],
  ['$addToSet with $each', { $addToSet: { tags: { $each: ['x', 'y'] } } }],
  ['$addToSet to a field that is not an array', { $addToSet: { state: 'x' } }],
  ['undefined value', { $set: { state: undefined } }],
];

for (const [name, update] of refused) {
  test(`left to mingo: ${name}`, (t) => {
    const doc = base();
    const before = serialize(doc);
    // The first refusal may come after other operators were checked: nothing may have changed.
    t.is(applyPlainUpdate(doc, { $set: { touched: true }, ...update }), undefined);
    t.deepEqual(serialize(doc), before);
  });
}
