// One collection of the embedded engine: a table (rid, id, doc) plus its index tables. Every public method
// runs in one SQLite transaction (engine.read / engine.write) and resolves only after it has committed.
import { Aggregator, Query } from 'mingo';
import type {
  AggregateOptions,
  CountDocumentsOptions,
  CreateIndexesOptions,
  DeleteResult,
  Document,
  Filter,
  FindOneAndUpdateOptions,
  FindOptions,
  IndexSpecification,
  InsertManyResult,
  InsertOneResult,
  OptionalUnlessRequiredId,
  ReplaceOptions,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
  WithId,
  WithoutId,
  Sort,
} from 'mongodb';
import { ObjectId } from 'mongodb';
import type { HubAggregationCursor, HubCollection, HubCursor } from '../db.ts';
import type { CollectionInfo } from './catalog.ts';
import { decodeDocument, encodeDocument, idKey } from './codec.ts';
import { EmbeddedAggregationCursor, EmbeddedCursor, type FindSpec } from './cursor.ts';
import type { EmbeddedEngine } from './engine.ts';
import { badValue, duplicateKeyError, StoreError } from './errors.ts';
import { defaultIndexName, deleteIndexRows, documentKeys, insertIndexRows, parseIndexSpec, quoteIdentifier, sameKeys, type IndexInfo } from './indexes.ts';
import { isPlainObject, keyPart, MISSING, valuesAtPath, type KeyPart } from './keys.ts';
import { queryOptions } from './query-options.ts';
import { normalizeSort, type SortSpec } from './sort.ts';
import { iterateRows, orderedRows, orderedSql, planSql, readRows, type RawRow, type StoredRow } from './rows.ts';
import { isExactPlan, planFilter, planOrder, type OrderedPlan } from './sql-filter.ts';
import { compileFilter, type Matcher } from './matcher.ts';
import { applyUpdate, assertOperatorUpdate, assertReplacement, assertSameId, upsertSeed, withIdFirst, type UpdateSpec } from './update.ts';

interface Row extends StoredRow {
  /** Decoded from `text`; the before-image of an update. */
  readonly doc: Document;
}

interface Selection {
  sort?: SortSpec | undefined;
  skip?: number | undefined;
  limit?: number | undefined;
}

export interface FindOneAndDeleteOptions {
  sort?: Sort;
  projection?: Document;
}

export class EmbeddedCollection<T extends Document = Document> implements HubCollection<T> {
  readonly collectionName: string;
  readonly #engine: EmbeddedEngine;
  readonly #namespace: string;

  constructor(engine: EmbeddedEngine, databaseName: string, name: string) {
    this.#engine = engine;
    this.collectionName = name;
    this.#namespace = `${databaseName}.${name}`;
  }

  // ---- reads ----------------------------------------------------------------------------------------------

  async findOne(filter: Filter<T> = {}, options: FindOptions = {}): Promise<WithId<T> | null> {
    const selection = { sort: normalizeSort(options.sort), skip: options.skip, limit: 1 };
    const [row] = this.#engine.read(() => this.#select(this.#info(), filter, selection));
    if (row === undefined) return null;
    return project([row.doc], options.projection)[0] as WithId<T>;
  }

  find(filter: Filter<T> = {}, options: FindOptions = {}): HubCursor<WithId<T>> {
    const spec: FindSpec = {
      sort: normalizeSort(options.sort),
      skip: options.skip,
      limit: options.limit === 0 ? undefined : options.limit === undefined ? undefined : Math.abs(options.limit),
      projection: options.projection,
    };
    const run = (current: FindSpec): Array<WithId<T>> => {
      const rows = this.#engine.read(() => this.#select(this.#info(), filter, current));
      return project(rows.map((row) => row.doc), current.projection) as Array<WithId<T>>;
    };
    return new EmbeddedCursor(run, spec);
  }

  async countDocuments(filter: Filter<T> = {}, options: CountDocumentsOptions = {}): Promise<number> {
    return this.#engine.read(() => {
      const info = this.#info();
      if (info === undefined) return 0;
      if (Object.keys(filter).length === 0 && options.skip === undefined && options.limit === undefined) return this.#count(info);
      return this.#select(info, filter, { skip: options.skip, limit: options.limit }).length;
    });
  }

  async estimatedDocumentCount(): Promise<number> {
    return this.#engine.read(() => {
      const info = this.#info();
      return info === undefined ? 0 : this.#count(info);
    });
  }

  async distinct(key: string, filter: Filter<T> = {}): Promise<unknown[]> {
    const rows = this.#engine.read(() => this.#matching(this.#info(), filter));
    const seen = new Map<string, unknown>();
    const parts = key.split('.');
    for (const row of rows) {
      for (const value of valuesAtPath(row.doc, parts)) {
        if (value === MISSING || (Array.isArray(value) && value.length === 0)) continue;
        const [type, text] = keyPart(value);
        const id = `${type}:${String(text)}`;
        if (!seen.has(id)) seen.set(id, value);
      }
    }
    return [...seen.values()];
  }

  aggregate<R extends Document = Document>(pipeline: Document[], _options?: AggregateOptions): HubAggregationCursor<R> {
    if (!Array.isArray(pipeline)) throw badValue('aggregate: the pipeline must be an array of stages');
    return new EmbeddedAggregationCursor<R>(() =>
      this.#engine.read(() => {
        const first = pipeline[0];
        const leadingMatch = isPlainObject(first) && isPlainObject(first['$match']) ? (first['$match'] as Document) : {};
        const docs = this.#matching(this.#info(), leadingMatch).map((row) => row.doc);
        const collectionResolver = (name: string): Document[] => {
          const info = this.#engine.catalog.get(name);
          return info === undefined ? [] : readRows(this.#engine, info, { kind: 'scan' }).map((row) => decodeDocument(row.doc));
        };
        return new Aggregator(pipeline, { ...queryOptions, collectionResolver }).run(docs) as R[];
      }),
    );
  }

  // ---- writes ---------------------------------------------------------------------------------------------

  async insertOne(doc: OptionalUnlessRequiredId<T>): Promise<InsertOneResult<T>> {
    const source = doc as Document;
    // The driver adds the generated _id to the caller's object; code written against it reads it back.
    if (source['_id'] === undefined) source['_id'] = new ObjectId();
    const stored = withIdFirst(source, source['_id']);
    this.#engine.write(() => this.#insert(this.#engine.catalog.ensure(this.collectionName), stored));
    return { acknowledged: true, insertedId: source['_id'] as InsertOneResult<T>['insertedId'] };
  }

  async insertMany(docs: ReadonlyArray<OptionalUnlessRequiredId<T>>): Promise<InsertManyResult<T>> {
    if (!Array.isArray(docs)) throw badValue('insertMany: expected an array of documents');
    const sources = docs as Document[];
    for (const source of sources) if (source['_id'] === undefined) source['_id'] = new ObjectId();
    const insertedIds: Record<number, unknown> = {};
    // Ordered insertMany (the driver's default): documents before a failing one stay inserted, the rest are not.
    const failure = this.#engine.write(() => {
      const info = this.#engine.catalog.ensure(this.collectionName);
      for (const [i, source] of sources.entries()) {
        try {
          this.#insert(info, withIdFirst(source, source['_id']));
        } catch (error) {
          return error;
        }
        insertedIds[i] = source['_id'];
      }
      return undefined;
    });
    const insertedCount = Object.keys(insertedIds).length;
    if (failure !== undefined) throw Object.assign(failure as Error, { insertedCount, insertedIds, result: { insertedCount, insertedIds } });
    return { acknowledged: true, insertedCount, insertedIds: insertedIds as InsertManyResult<T>['insertedIds'] };
  }

  async updateOne(filter: Filter<T>, update: UpdateFilter<T> | Document[], options: UpdateOptions & { sort?: Sort } = {}): Promise<UpdateResult<T>> {
    assertOperatorUpdate(update);
    return this.#engine.write(() => {
      const info = options.upsert === true ? this.#engine.catalog.ensure(this.collectionName) : this.#info();
      const [row] = this.#select(info, filter, { sort: normalizeSort(options.sort), limit: 1 });
      if (row === undefined) return this.#upsertResult(info, filter, update, options);
      const { modified } = this.#update(info!, row, update, filter, options.arrayFilters);
      return updateResult(1, modified ? 1 : 0);
    });
  }

  async updateMany(filter: Filter<T>, update: UpdateFilter<T> | Document[], options: UpdateOptions = {}): Promise<UpdateResult<T>> {
    assertOperatorUpdate(update);
    // One transaction: unlike MongoDB, a failure half way (a duplicate key) leaves no document updated.
    return this.#engine.write(() => {
      const info = options.upsert === true ? this.#engine.catalog.ensure(this.collectionName) : this.#info();
      const rows = this.#select(info, filter, {});
      if (rows.length === 0) return this.#upsertResult(info, filter, update, options);
      let modifiedCount = 0;
      for (const row of rows) if (this.#update(info!, row, update, filter, options.arrayFilters).modified) modifiedCount++;
      return updateResult(rows.length, modifiedCount);
    });
  }

  async replaceOne(filter: Filter<T>, replacement: WithoutId<T>, options: ReplaceOptions = {}): Promise<UpdateResult<T>> {
    assertReplacement(replacement);
    return this.#engine.write(() => {
      const info = options.upsert === true ? this.#engine.catalog.ensure(this.collectionName) : this.#info();
      const [row] = this.#select(info, filter, { sort: normalizeSort(options.sort), limit: 1 });
      if (row === undefined) {
        if (options.upsert !== true) return updateResult(0, 0);
        const seed = upsertSeed(filter);
        const doc = withIdFirst(replacement, (replacement as Document)['_id'] ?? seed['_id']);
        this.#insert(info!, doc);
        return { ...updateResult(0, 0), upsertedCount: 1, upsertedId: doc['_id'] as UpdateResult<T>['upsertedId'] };
      }
      const next = withIdFirst(replacement, (replacement as Document)['_id'] ?? row.doc['_id']);
      assertSameId(row.doc, next);
      return updateResult(1, this.#rewrite(info!, row, next) ? 1 : 0);
    });
  }

  async deleteOne(filter: Filter<T> = {}): Promise<DeleteResult> {
    return this.#engine.write(() => {
      const info = this.#info();
      const [row] = this.#select(info, filter, { limit: 1 });
      if (row !== undefined) this.#delete(info!, row);
      return { acknowledged: true, deletedCount: row === undefined ? 0 : 1 };
    });
  }

  async deleteMany(filter: Filter<T> = {}): Promise<DeleteResult> {
    return this.#engine.write(() => {
      const info = this.#info();
      const rows = this.#select(info, filter, {});
      for (const row of rows) this.#delete(info!, row);
      return { acknowledged: true, deletedCount: rows.length };
    });
  }

  async findOneAndUpdate(
    filter: Filter<T>,
    update: UpdateFilter<T> | Document[],
    options: FindOneAndUpdateOptions = {},
  ): Promise<WithId<T> | null> {
    assertOperatorUpdate(update);
    const after = options.returnDocument === 'after';
    const result = this.#engine.write((): Document | null => {
      const info = options.upsert === true ? this.#engine.catalog.ensure(this.collectionName) : this.#info();
      const [row] = this.#select(info, filter, { sort: normalizeSort(options.sort), limit: 1 });
      if (row === undefined) {
        if (options.upsert !== true) return null;
        const inserted = this.#upsert(info!, filter, update, options.arrayFilters as Document[] | undefined);
        return after ? inserted : null;
      }
      const updated = this.#update(info!, row, update, filter, options.arrayFilters as Document[] | undefined);
      return after ? updated.doc : row.doc;
    });
    const value = result === null ? null : (project([result], options.projection)[0] as WithId<T>);
    if (options.includeResultMetadata === true) return { value, ok: 1 } as unknown as WithId<T>;
    return value;
  }

  async findOneAndDelete(filter: Filter<T>, options: FindOneAndDeleteOptions = {}): Promise<WithId<T> | null> {
    const doc = this.#engine.write(() => {
      const info = this.#info();
      const [row] = this.#select(info, filter, { sort: normalizeSort(options.sort), limit: 1 });
      if (row === undefined) return null;
      this.#delete(info!, row);
      return row.doc;
    });
    return doc === null ? null : (project([doc], options.projection)[0] as WithId<T>);
  }

  async createIndex(spec: IndexSpecification, options: CreateIndexesOptions = {}): Promise<string> {
    const fields = parseIndexSpec(spec);
    const name = options.name ?? defaultIndexName(fields);
    if (fields.length === 1 && fields[0]!.path === '_id') return '_id_';
    if (options.expireAfterSeconds !== undefined) {
      throw new Error(`createIndex ${name}: TTL indexes (expireAfterSeconds) are not supported by the embedded engine; use a scheduled job`);
    }
    const wanted = { name, fields, unique: options.unique === true, sparse: options.sparse === true, partial: options.partialFilterExpression };
    return this.#engine.write(() => {
      const info = this.#engine.catalog.ensure(this.collectionName);
      const existing = info.indexes.find((index) => index.name === name || sameFields(index, wanted.fields));
      if (existing !== undefined) return this.#existingIndex(existing, wanted);
      const index = this.#engine.catalog.addIndex(info, wanted);
      for (const row of readRows(this.#engine, info, { kind: 'scan' })) this.#indexRow(info, index, row.rid, decodeDocument(row.doc));
      return name;
    });
  }

  /**
   * Not part of HubDb: how the embedded engine would read `filter` (with an optional sort and limit) – the
   * plan, the SQL and SQLite's EXPLAIN QUERY PLAN lines. Tests use it to prove that indexed lookups do not scan.
   */
  explain(filter: Filter<T> = {}, options: { sort?: Sort; limit?: number } = {}): { plan: string; sql: string; queryPlan: string[] } {
    return this.#engine.read(() => {
      const info = this.#info();
      if (info === undefined) return { plan: 'nothing', sql: '', queryPlan: [] };
      const sort = normalizeSort(options.sort);
      const ordered = sort !== undefined && options.limit !== undefined ? this.#orderedPlan(info, filter, sort) : undefined;
      const plan = planFilter(info, filter);
      if (ordered === undefined && plan.kind === 'nothing') return { plan: 'nothing', sql: '', queryPlan: [] };
      const query = ordered !== undefined ? orderedSql(info, ordered) : planSql(info, plan as Exclude<typeof plan, { kind: 'nothing' }>);
      const lines = this.#engine.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as Array<{ detail: string }>;
      return { plan: ordered !== undefined ? `ordered:${ordered.index.name}` : plan.kind, sql: query.sql, queryPlan: lines.map((line) => line.detail) };
    });
  }

  /** Not part of HubDb: for tests and tools that need an empty collection. */
  async drop(): Promise<boolean> {
    return this.#engine.write(() => {
      const info = this.#info();
      if (info === undefined) return false;
      this.#engine.catalog.drop(info);
      return true;
    });
  }

  // ---- internals --------------------------------------------------------------------------------------------

  #info(): CollectionInfo | undefined {
    return this.#engine.catalog.get(this.collectionName);
  }

  #count(info: CollectionInfo): number {
    const row = this.#engine.prepare(`SELECT count(*) AS n FROM ${quoteIdentifier(info.table)}`).get() as { n: number };
    return row.n;
  }

  #matching(info: CollectionInfo | undefined, filter: Document): Row[] {
    return this.#take(info, filter, Infinity);
  }

  /** The first `count` matching rows in insertion order; stops reading as soon as it has them. */
  #take(info: CollectionInfo | undefined, filter: Document, count: number, skip = 0): Row[] {
    if (info === undefined || count <= 0) return [];
    if (Object.keys(filter).length === 0) {
      // No filter: SQLite skips and limits by itself instead of reading every row.
      const window = count === Infinity ? undefined : { offset: skip, limit: count };
      const rows = readRows(this.#engine, info, { kind: 'scan' }, window).map(decodeRow);
      return window === undefined ? rows.slice(skip) : rows;
    }
    const plan = planFilter(info, filter);
    // A range with both bounds is only right while the index is not multikey: check that in the same snapshot.
    if (plan.kind === 'range' && plan.bounds.length > 1 && !this.#engine.inTransaction) {
      return this.#engine.snapshot(() => this.#take(this.#info(), filter, count, skip));
    }
    return collect(iterateRows(this.#engine, info, plan), isExactPlan(plan, filter) ? everything : compileFilter(filter), skip, count);
  }

  #select(info: CollectionInfo | undefined, filter: Document, selection: Selection): Row[] {
    const skip = selection.skip ?? 0;
    const limit = selection.limit ?? Infinity;
    if (selection.sort === undefined) return this.#take(info, filter, limit, skip);
    const ordered = limit === Infinity ? undefined : this.#orderedPlan(info, filter, selection.sort);
    if (ordered !== undefined) return collect(orderedRows(this.#engine, info!, ordered), compileFilter(filter), skip, limit);
    const rows = this.#matching(info, filter);
    const byDoc = new Map<Document, Row>(rows.map((row) => [row.doc, row]));
    let cursor = new Query({}, queryOptions).find<Document>(rows.map((row) => row.doc)).sort(selection.sort);
    if (skip > 0) cursor = cursor.skip(skip);
    if (limit !== Infinity) cursor = cursor.limit(limit);
    return cursor.all().map((doc) => byDoc.get(doc)!);
  }

  /** An index in sort order beats sorting every match, unless the filter already pins down a few documents. */
  #orderedPlan(info: CollectionInfo | undefined, filter: Document, sort: SortSpec): OrderedPlan | undefined {
    const ordered = planOrder(info, filter, sort);
    if (ordered === undefined) return undefined;
    const narrowed = planFilter(info, filter);
    if (narrowed.kind === 'nothing' || narrowed.kind === 'ids') return undefined;
    if (narrowed.kind === 'keys' && narrowed.index.unique) return undefined;
    return ordered;
  }

  #insert(info: CollectionInfo, doc: Document): void {
    const text = encodeDocument(doc);
    const insert = this.#engine.prepare(`INSERT OR IGNORE INTO ${quoteIdentifier(info.table)} (id, doc) VALUES (?, ?)`);
    const { changes, lastInsertRowid } = insert.run(idKey(doc['_id']), text);
    if (changes === 0) throw duplicateKeyError(this.#namespace, '_id_', { _id: 1 }, { _id: doc['_id'] });
    const rid = Number(lastInsertRowid);
    for (const [position, index] of info.indexes.entries()) {
      try {
        this.#indexRow(info, index, rid, doc);
      } catch (error) {
        this.#undoInsert(info, rid, doc, position);
        throw error;
      }
    }
  }

  #indexRow(info: CollectionInfo, index: IndexInfo, rid: number, doc: Document): void {
    const keys = documentKeys(index, doc);
    if (keys.multikey) this.#engine.catalog.markMultikey(info, index);
    const clash = insertIndexRows((sql) => this.#engine.prepare(sql), index, rid, keys.rows);
    if (clash !== undefined) throw this.#duplicate(index, doc, clash);
  }

  /** insertMany keeps the documents before a failing one, so a failed insert removes its own rows first. */
  #undoInsert(info: CollectionInfo, rid: number, doc: Document, failedIndex: number): void {
    const prepare = (sql: string) => this.#engine.prepare(sql);
    for (const index of info.indexes.slice(0, failedIndex)) deleteIndexRows(prepare, index, rid, documentKeys(index, doc).rows);
    this.#engine.prepare(`DELETE FROM ${quoteIdentifier(info.table)} WHERE rid = ?`).run(rid);
  }

  #update(info: CollectionInfo, row: Row, update: UpdateSpec, filter: Document, arrayFilters: Document[] | undefined): { doc: Document; modified: boolean } {
    // A fresh copy from the stored text: row.doc stays the before-image (findOneAndUpdate returns it).
    const doc = decodeDocument(row.text);
    applyUpdate(doc, update, filter, arrayFilters, false);
    assertSameId(row.doc, doc);
    return { doc, modified: this.#rewrite(info, row, doc) };
  }

  #upsert(info: CollectionInfo, filter: Document, update: UpdateSpec, arrayFilters: Document[] | undefined): Document {
    const seed = upsertSeed(filter);
    applyUpdate(seed, update, undefined, arrayFilters, true);
    const doc = withIdFirst(seed, seed['_id']);
    this.#insert(info, doc);
    return doc;
  }

  #upsertResult(info: CollectionInfo | undefined, filter: Document, update: UpdateSpec, options: UpdateOptions): UpdateResult<T> {
    if (options.upsert !== true || info === undefined) return updateResult(0, 0);
    const doc = this.#upsert(info, filter, update, options.arrayFilters as Document[] | undefined);
    return { ...updateResult(0, 0), upsertedCount: 1, upsertedId: doc['_id'] as UpdateResult<T>['upsertedId'] };
  }

  /** Writes the new version of a row; false when nothing changed (MongoDB then counts it matched, not modified). */
  #rewrite(info: CollectionInfo, row: Row, next: Document): boolean {
    const text = encodeDocument(next);
    if (text === row.text) return false;
    this.#engine.prepare(`UPDATE ${quoteIdentifier(info.table)} SET doc = ? WHERE rid = ?`).run(text, row.rid);
    const prepare = (sql: string) => this.#engine.prepare(sql);
    for (const index of info.indexes) {
      const before = documentKeys(index, row.doc);
      const after = documentKeys(index, next);
      if (sameKeys(before, after)) continue;
      deleteIndexRows(prepare, index, row.rid, before.rows);
      if (after.multikey) this.#engine.catalog.markMultikey(info, index);
      const clash = insertIndexRows(prepare, index, row.rid, after.rows);
      if (clash !== undefined) throw this.#duplicate(index, next, clash);
    }
    return true;
  }

  #delete(info: CollectionInfo, row: Row): void {
    this.#engine.prepare(`DELETE FROM ${quoteIdentifier(info.table)} WHERE rid = ?`).run(row.rid);
    const prepare = (sql: string) => this.#engine.prepare(sql);
    for (const index of info.indexes) deleteIndexRows(prepare, index, row.rid, documentKeys(index, row.doc).rows);
  }

  #existingIndex(existing: IndexInfo, wanted: { name: string; fields: IndexInfo['fields']; unique: boolean; sparse: boolean; partial: Document | undefined }): string {
    const sameOptions = existing.unique === wanted.unique && existing.sparse === wanted.sparse && encodeDocument(existing.partial ?? null) === encodeDocument(wanted.partial ?? null);
    if (existing.name === wanted.name && sameFields(existing, wanted.fields) && sameOptions) return existing.name;
    if (existing.name === wanted.name) {
      throw new StoreError(86, 'IndexKeySpecsConflict', `An existing index has the same name as the requested index but different keys or options: ${wanted.name}`);
    }
    throw new StoreError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${existing.name}`);
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

const everything: Matcher = { test: () => true };

function decodeRow(row: RawRow): Row {
  return { rid: row.rid, text: row.doc, doc: decodeDocument(row.doc) };
}

/** Decodes and tests candidates in order until `count` matches past the first `skip` are found. */
function collect(rows: Iterable<RawRow>, matcher: Matcher, skip: number, count: number): Row[] {
  const found: Row[] = [];
  let skipped = 0;
  for (const raw of rows) {
    const row = decodeRow(raw);
    if (!matcher.test(row.doc)) continue;
    if (skipped < skip) {
      skipped++;
      continue;
    }
    found.push(row);
    if (found.length >= count) break;
  }
  return found;
}

function sameFields(index: IndexInfo, fields: IndexInfo['fields']): boolean {
  return index.fields.length === fields.length && index.fields.every((field, i) => field.path === fields[i]!.path && field.direction === fields[i]!.direction);
}

function updateResult<T extends Document>(matchedCount: number, modifiedCount: number): UpdateResult<T> {
  return { acknowledged: true, matchedCount, modifiedCount, upsertedCount: 0, upsertedId: null };
}

function project(docs: Document[], projection: Document | undefined): Document[] {
  if (projection === undefined || Object.keys(projection).length === 0) return docs;
  return new Query({}, queryOptions).find<Document>(docs, projection).all();
}
