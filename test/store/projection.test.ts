// The direct projection must give exactly what mingo gives (the engine's projection otherwise).
import test from 'ava';
import { Query } from 'mingo';
import { ObjectId, type Document } from 'mongodb';
import { project } from '../../store/embedded/projection.ts';
import { queryOptions } from '../../store/embedded/query-options.ts';

const docs: Document[] = [
  { _id: 'E1', examNumber: 'E1', version: 3, outbox: [{ id: 'a', type: 'exam.created' }], nested: { x: 1 } },
  { _id: new ObjectId('65a000000000000000000001'), outbox: [], version: 1 },
  { version: 2, _id: 7, other: null },
  { _id: 'E4' },
];

const projections: Document[] = [
  { _id: 1, outbox: 1, version: 1 },
  { outbox: 1 },
  { version: true, outbox: 1 },
  { _id: 0, version: 1 },
  { _id: false, version: 1, nested: 1 },
  { other: 1 },
];

for (const projection of projections) {
  test(`same fields and values as mingo, in the document's order: ${JSON.stringify(projection)}`, (t) => {
    const theirs = new Query({}, queryOptions).find<Document>(docs, projection).all();
    const ours = project(docs, projection);
    const sorted = (rows: Document[]) =>
      rows.map((doc) => Object.fromEntries(Object.entries(doc).sort(([a], [b]) => a.localeCompare(b))));
    t.deepEqual(sorted(ours), sorted(theirs));
    ours.forEach((doc, i) => {
      const order = Object.keys(docs[i]!);
      t.deepEqual(
        Object.keys(doc),
        [...Object.keys(doc)].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
      );
    });
  });
}

test('projections it does not take are left to mingo', (t) => {
  for (const projection of [{ 'nested.x': 1 }, { nested: 0 }, { _id: 1 }, { outbox: { $slice: 1 } }, { _id: 0 }]) {
    t.deepEqual(
      project(docs, projection),
      new Query({}, queryOptions).find<Document>(docs, projection).all(),
      JSON.stringify(projection),
    );
  }
});
