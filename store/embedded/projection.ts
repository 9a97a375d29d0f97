// Projections. The one the hub uses on hot paths – top-level fields to include (`{ _id: 1, outbox: 1 }`) – is
// applied directly: mingo builds its operator context for every call (one per find), which showed in CPU
// profiles of the outbox publisher. Every other projection (dotted paths, exclusions, operators) goes to mingo.
// test/store/projection.test.ts compares the two.
import { Query } from 'mingo';
import type { Document } from 'mongodb';
import { queryOptions } from './query-options.ts';

export function project(docs: Document[], projection: Document | undefined): Document[] {
  if (projection === undefined || Object.keys(projection).length === 0) return docs;
  const fields = topLevelInclusion(projection);
  if (fields === undefined) return new Query({}, queryOptions).find<Document>(docs, projection).all();
  return docs.map((doc) => {
    // In the document's order, as MongoDB's classic engine gives them (its engines differ on this, SERVER-70234;
    // mingo gives yet another order, and nothing here depends on it).
    const out: Document = {};
    for (const key of Object.keys(doc)) if (fields.has(key)) out[key] = doc[key];
    return out;
  });
}

/** The names an inclusion of top-level fields keeps; undefined for anything else. */
function topLevelInclusion(projection: Document): Set<string> | undefined {
  const fields = new Set<string>();
  let withId = true;
  for (const [key, value] of Object.entries(projection)) {
    if (key === '_id' && (value === 0 || value === false)) {
      withId = false;
      continue;
    }
    if (value !== 1 && value !== true) return undefined;
    if (key === '' || key.includes('.') || key.startsWith('$')) return undefined;
    fields.add(key);
  }
  if (fields.size === 0 || (fields.size === 1 && fields.has('_id'))) return undefined;
  if (withId) fields.add('_id');
  return fields;
}
