// Writing rows: the document row and its index rows change together (the caller holds the write transaction).
// A unique index refusing a key raises MongoDB's E11000 error naming the index and the key.
import type { Document } from 'mongodb';
import type { CollectionInfo } from './catalog.ts';
import { decodeDocument, encodeDocument, idKey } from './codec.ts';
import type { EmbeddedEngine } from './engine.ts';
import { duplicateKeyError, type StoreError } from './errors.ts';
import {
  deleteIndexRows,
  documentKeys,
  insertIndexRows,
  quoteIdentifier,
  sameKeys,
  type DocumentKeys,
  type IndexInfo,
} from './indexes.ts';
import { keyPart, MISSING, valuesAtPath, type KeyPart } from './keys.ts';
import type { Row } from './reader.ts';
import { applyPlainUpdate, plainUpdatePaths } from './plain-update.ts';
import { applyUpdate, assertSameId, upsertSeed, withIdFirst, type UpdateSpec } from './update.ts';

export class RowWriter {
  readonly #engine: EmbeddedEngine;
  readonly #namespace: string;

  constructor(engine: EmbeddedEngine, namespace: string) {
    this.#engine = engine;
    this.#namespace = namespace;
  }

  insert(info: CollectionInfo, doc: Document): void {
    const text = encodeDocument(doc);
    const insert = this.#engine.prepare(tableSql(info).insert);
    const { changes, lastInsertRowid } = insert.run(idKey(doc['_id']), text);
    if (changes === 0) throw duplicateKeyError(this.#namespace, '_id_', { _id: 1 }, { _id: doc['_id'] });
    const rid = Number(lastInsertRowid);
    for (const [position, index] of info.indexes.entries()) {
      try {
        this.indexRow(info, index, rid, doc);
      } catch (error) {
        this.#undoInsert(info, rid, doc, position);
        throw error;
      }
    }
  }

  indexRow(info: CollectionInfo, index: IndexInfo, rid: number, doc: Document): void {
    const keys = documentKeys(index, doc);
    if (keys.multikey) this.#engine.catalog.markMultikey(info, index);
    const clash = insertIndexRows((sql) => this.#engine.prepare(sql), index, rid, keys.rows);
    if (clash !== undefined) throw this.#duplicate(index, doc, clash);
  }

  /** insertMany keeps the documents before a failing one, so a failed insert removes its own rows first. */
  #undoInsert(info: CollectionInfo, rid: number, doc: Document, failedIndex: number): void {
    const prepare = (sql: string) => this.#engine.prepare(sql);
    for (const index of info.indexes.slice(0, failedIndex))
      deleteIndexRows(prepare, index, rid, documentKeys(index, doc).rows);
    this.#engine.prepare(tableSql(info).remove).run(rid);
  }

  /**
   * Applies `update` to the row. `keepBefore`: row.doc must stay the before-image (findOneAndUpdate returns it),
   * so the update goes to a fresh copy decoded from the stored text. Otherwise a plain update is applied to
   * row.doc itself, after the keys it can change were read from it: a second decode of a message or an exam
   * (2-5 KB of JSON) was a tenth of what recording a delivery or publishing an event cost.
   */
  update(
    info: CollectionInfo,
    row: Row,
    update: UpdateSpec,
    filter: Document,
    arrayFilters: Document[] | undefined,
    keepBefore: boolean,
  ): { doc: Document; modified: boolean } {
    if (!keepBefore && arrayFilters === undefined && !Array.isArray(update)) {
      const inPlace = this.#updateInPlace(info, row, update);
      if (inPlace !== undefined) return inPlace;
    }
    const doc = decodeDocument(row.text);
    const touched = applyUpdate(doc, update, filter, arrayFilters, false);
    assertSameId(row.doc, doc);
    return { doc, modified: this.rewrite(info, row, doc, touched) };
  }

  #updateInPlace(info: CollectionInfo, row: Row, update: Document): { doc: Document; modified: boolean } | undefined {
    // Not inserting: $setOnInsert does nothing, as in applyUpdate.
    const { $setOnInsert: _ignored, ...operators } = update;
    const paths = plainUpdatePaths(operators);
    if (paths === undefined) return undefined;
    const before = new Map<IndexInfo, DocumentKeys>();
    for (const index of indexesTouching(info, paths)) before.set(index, documentKeys(index, row.doc));
    if (applyPlainUpdate(row.doc, operators, paths) === undefined) return undefined;
    return { doc: row.doc, modified: this.rewrite(info, row, row.doc, paths, before) };
  }

  upsert(info: CollectionInfo, filter: Document, update: UpdateSpec, arrayFilters: Document[] | undefined): Document {
    const seed = upsertSeed(filter);
    applyUpdate(seed, update, undefined, arrayFilters, true);
    const doc = withIdFirst(seed, seed['_id']);
    this.insert(info, doc);
    return doc;
  }

  /**
   * Writes the new version of a row; false when nothing changed (MongoDB then counts it matched, not modified).
   * `touched`, when known, lists the field paths that may have changed: an index on none of them keeps its rows
   * without computing its keys twice (a queue item's lease or a message's delivery state touch 1 of 5-12 indexes).
   * `before`: the keys of exactly those indexes, read before row.doc itself was changed (#updateInPlace).
   */
  rewrite(
    info: CollectionInfo,
    row: Row,
    next: Document,
    touched?: readonly string[],
    before?: ReadonlyMap<IndexInfo, DocumentKeys>,
  ): boolean {
    const text = encodeDocument(next);
    if (text === row.text) return false;
    this.#engine.prepare(tableSql(info).update).run(text, row.rid);
    const prepare = (sql: string) => this.#engine.prepare(sql);
    const indexes =
      before !== undefined ? before.keys() : touched !== undefined ? indexesTouching(info, touched) : info.indexes;
    for (const index of indexes) {
      const old = before?.get(index) ?? documentKeys(index, row.doc);
      const after = documentKeys(index, next);
      if (sameKeys(old, after)) continue;
      deleteIndexRows(prepare, index, row.rid, old.rows);
      if (after.multikey) this.#engine.catalog.markMultikey(info, index);
      const clash = insertIndexRows(prepare, index, row.rid, after.rows);
      if (clash !== undefined) throw this.#duplicate(index, next, clash);
    }
    return true;
  }

  delete(info: CollectionInfo, row: Row): void {
    this.#engine.prepare(tableSql(info).remove).run(row.rid);
    const prepare = (sql: string) => this.#engine.prepare(sql);
    for (const index of info.indexes) deleteIndexRows(prepare, index, row.rid, documentKeys(index, row.doc).rows);
  }

  #duplicate(index: IndexInfo, doc: Document, clash: readonly KeyPart[]): StoreError {
    const keyPattern: Record<string, number> = {};
    const keyValue: Record<string, unknown> = {};
    index.fields.forEach((field, i) => {
      keyPattern[field.path] = field.direction;
      const wanted = JSON.stringify(clash[i]);
      const value = valuesAtPath(doc, field.parts).find((candidate) => JSON.stringify(keyPart(candidate)) === wanted);
      keyValue[field.path] = value === MISSING ? null : value;
    });
    return duplicateKeyError(this.#namespace, index.name, keyPattern, keyValue);
  }
}

interface TableSql {
  readonly insert: string;
  readonly update: string;
  readonly remove: string;
}

const tableSqlCache = new Map<string, TableSql>();

function tableSql(info: CollectionInfo): TableSql {
  let sql = tableSqlCache.get(info.table);
  if (sql === undefined) {
    const table = quoteIdentifier(info.table);
    sql = {
      insert: `INSERT OR IGNORE INTO ${table} (id, doc) VALUES (?, ?)`,
      update: `UPDATE ${table} SET doc = ? WHERE rid = ?`,
      remove: `DELETE FROM ${table} WHERE rid = ?`,
    };
    tableSqlCache.set(info.table, sql);
  }
  return sql;
}

/**
 * The indexes whose keys an update of `touched` paths can change: a touched path is the indexed path, inside it,
 * or above it. Array positions in a touched path (`destinations.0.state`) also count without the position, as
 * MongoDB indexes array elements under the path without it (`destinations.state`); those are stripped once per
 * update, not once per index (a regex per segment per index showed in profiles). A partial index's membership
 * depends on its filter's fields too, so it is always recomputed.
 */
function indexesTouching(info: CollectionInfo, touched: readonly string[]): IndexInfo[] {
  // The same few updates come again and again (a delivery's state, a lease): remembered per collection's index
  // list, which only grows (addIndex) or is replaced whole (the catalog reloaded).
  let known = touchingCache.get(info.indexes);
  if (known === undefined || known.count !== info.indexes.length) {
    known = { count: info.indexes.length, byPaths: new Map() };
    touchingCache.set(info.indexes, known);
  }
  // JSON, not a separator: a field name may hold any character, NUL included.
  const key = JSON.stringify(touched);
  let found = known.byPaths.get(key);
  if (found === undefined) {
    found = computeTouching(info, touched);
    if (known.byPaths.size < maxTouchingKeys) known.byPaths.set(key, found);
  }
  return found;
}

const touchingCache = new WeakMap<readonly IndexInfo[], { count: number; byPaths: Map<string, IndexInfo[]> }>();
/** Updates with paths made of data (a $set of a map's keys) must not grow the cache without bound. */
const maxTouchingKeys = 256;

function computeTouching(info: CollectionInfo, touched: readonly string[]): IndexInfo[] {
  const expanded = new Set(touched);
  for (const path of touched) {
    if (/(^|\.)\d+(\.|$)/.test(path))
      expanded.add(
        path
          .split('.')
          .filter((segment) => !/^\d+$/.test(segment))
          .join('.'),
      );
  }
  const paths = [...expanded];
  return info.indexes.filter(
    (index) =>
      index.partial !== undefined || paths.some((path) => index.fields.some((field) => related(field.path, path))),
  );
}

function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}
