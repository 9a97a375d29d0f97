// Update documents: mingo applies the operators (plain-update.ts takes the common shapes first); this file adds
// what mingo leaves to the server – the checks the driver and server make, $setOnInsert, the upsert seed, and
// the immutability of _id.
import { update as applyOperators, updateOne as applyPipeline } from 'mingo';
import { ObjectId, type Document } from 'mongodb';
import { idKey } from './codec.ts';
import { badValue, StoreError } from './errors.ts';
import { isPlainObject } from './keys.ts';
import { applyPlainUpdate } from './plain-update.ts';
import { queryOptions } from './query-options.ts';

export type UpdateSpec = Document | Document[];

/** The driver refuses these before they reach a server: updateOne({}, {a: 1}) must be replaceOne. */
export function assertOperatorUpdate(update: unknown): asserts update is UpdateSpec {
  if (Array.isArray(update)) return;
  if (!isPlainObject(update)) throw badValue('update: expected an object or a pipeline');
  const keys = Object.keys(update);
  if (keys.length === 0 || !keys[0]!.startsWith('$'))
    throw new StoreError(9, 'FailedToParse', 'Update document requires atomic operators');
}

export function assertReplacement(replacement: unknown): asserts replacement is Document {
  if (!isPlainObject(replacement)) throw badValue('replacement: expected an object');
  if (Object.keys(replacement)[0]?.startsWith('$'))
    throw badValue('Replacement document must not contain atomic operators');
}

/**
 * Applies `update` to `doc` in place. `filter` resolves the positional `$` operator. Returns the field paths the
 * update can have changed when they are known (the direct path), so a rewrite can leave the other indexes alone;
 * undefined means any field may have changed.
 */
export function applyUpdate(
  doc: Document,
  update: UpdateSpec,
  filter: Document | undefined,
  arrayFilters: Document[] | undefined,
  inserting: boolean,
): readonly string[] | undefined {
  if (Array.isArray(update)) {
    const documents = [doc];
    try {
      applyPipeline(documents, {}, update as never, {}, queryOptions);
    } catch (error) {
      throw asServerError(error);
    }
    const result = documents[0]!;
    if (result !== doc) {
      for (const key of Object.keys(doc)) delete doc[key];
      Object.assign(doc, result);
    }
    return undefined;
  }
  const { $setOnInsert, ...operators } = update;
  try {
    // mingo compiles the filter into a query on every call; it is only needed to resolve a positional `$`
    // (the document was already matched), so it is passed only then.
    const condition = inserting || !usesPositional(operators) ? undefined : filter;
    let touched: readonly string[] | undefined = [];
    if (Object.keys(operators).length > 0) {
      touched = arrayFilters === undefined ? applyPlainUpdate(doc, operators) : undefined;
      if (touched === undefined) applyOperators(doc, operators, arrayFilters, condition, { queryOptions });
    }
    // Only an insert has $setOnInsert applied, and an insert writes every index anyway.
    if (inserting && isPlainObject($setOnInsert) && applyPlainUpdate(doc, { $set: $setOnInsert }) === undefined) {
      applyOperators(doc, { $set: $setOnInsert }, undefined, undefined, { queryOptions });
    }
    return touched;
  } catch (error) {
    throw asServerError(error);
  }
}

/** True when a field path of the update has a positional `$` segment (`items.$.qty`), which the filter resolves. */
function usesPositional(operators: Document): boolean {
  return Object.values(operators).some(
    (fields) => isPlainObject(fields) && Object.keys(fields).some((path) => path.split('.').includes('$')),
  );
}

/** mingo's messages are MongoDB's; give them the server's codes so callers can tell them apart. */
function asServerError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof StoreError) return error;
  if (error.message.includes("immutable field '_id'")) return new StoreError(66, 'ImmutableField', error.message);
  if (error.message.startsWith('Unknown update operator')) return new StoreError(9, 'FailedToParse', error.message);
  return badValue(`update: ${error.message}`);
}

export function assertSameId(before: Document, after: Document): void {
  if (idKey(before['_id']) !== idKey(after['_id'])) {
    throw new StoreError(
      66,
      'ImmutableField',
      "Performing an update on the path '_id' would modify the immutable field '_id'",
    );
  }
}

/**
 * MongoDB's upsert: "the update creates a base document from the equality clauses in the query, then applies
 * the update" (manual, db.collection.updateOne, "Upsert with Operator Expressions").
 */
export function upsertSeed(filter: Document): Document {
  const seed: Document = {};
  collectEqualities(filter, seed);
  return seed;
}

function collectEqualities(filter: Document, seed: Document): void {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(condition)) {
      for (const part of condition) if (isPlainObject(part)) collectEqualities(part, seed);
      continue;
    }
    if (key.startsWith('$')) continue;
    const value = equalityValue(condition);
    if (value !== noEquality) setPath(seed, key, value);
  }
}

const noEquality = Symbol('no equality');

function equalityValue(condition: unknown): unknown {
  if (condition instanceof RegExp) return noEquality;
  if (!isPlainObject(condition)) return condition;
  const keys = Object.keys(condition);
  if (keys.length === 0 || !keys[0]!.startsWith('$')) return condition;
  if (keys.length === 1 && keys[0] === '$eq') return condition['$eq'];
  return noEquality;
}

function setPath(target: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let current: Document = target;
  for (const part of parts.slice(0, -1)) {
    const next = current[part];
    if (!isPlainObject(next)) current[part] = {};
    current = current[part] as Document;
  }
  current[parts[parts.length - 1]!] = value;
}

/** The server puts _id first and generates an ObjectId when none is given. */
export function withIdFirst(doc: Document, id: unknown): Document {
  return { _id: id === undefined ? new ObjectId() : id, ...doc };
}
