// One collection of the embedded engine: a table (rid, id, doc) plus its index tables. Every public method
// reads through engine.read; every write through engine.writeSoon (one transaction, possibly shared with other
// writes of the same event-loop turn) and resolves only after its COMMIT.
import { Aggregator } from 'mingo';
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
  Sort,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
  WithId,
  WithoutId,
} from 'mongodb';
import { ObjectId } from 'mongodb';
import type { HubAggregationCursor, HubCollection, HubCursor } from '../db.ts';
import type { CollectionInfo } from './catalog.ts';
import { decodeDocument, encodeDocument } from './codec.ts';
import { EmbeddedAggregationCursor, EmbeddedCursor, type FindSpec } from './cursor.ts';
import type { EmbeddedEngine } from './engine.ts';
import { badValue, StoreError } from './errors.ts';
import { defaultIndexName, parseIndexSpec, type IndexInfo } from './indexes.ts';
import { isPlainObject, keyPart, MISSING, valuesAtPath } from './keys.ts';
import { queryOptions } from './query-options.ts';
import { RowReader } from './reader.ts';
import { project } from './projection.ts';
import { readRows } from './rows.ts';
import { normalizeSort } from './sort.ts';
import {
  assertOperatorUpdate,
  assertReplacement,
  assertSameId,
  upsertSeed,
  withIdFirst,
  type UpdateSpec,
} from './update.ts';
import { explainRead, type Explained } from './explain.ts';
import { RowWriter } from './writer.ts';

export interface FindOneAndDeleteOptions {
  sort?: Sort;
  projection?: Document;
}

export class EmbeddedCollection<T extends Document = Document> implements HubCollection<T> {
  readonly collectionName: string;
  readonly #engine: EmbeddedEngine;
  readonly #reader: RowReader;
  readonly #writer: RowWriter;

  constructor(engine: EmbeddedEngine, databaseName: string, name: string) {
    this.#engine = engine;
    this.collectionName = name;
    this.#reader = new RowReader(engine);
    this.#writer = new RowWriter(engine, `${databaseName}.${name}`);
  }

  // ---- reads ----------------------------------------------------------------------------------------------

  async findOne(filter: Filter<T> = {}, options: FindOptions = {}): Promise<WithId<T> | null> {
    const selection = { sort: normalizeSort(options.sort), skip: options.skip, limit: 1 };
    const [row] = this.#engine.read(() => this.#reader.select(this.#info(), filter, selection));
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
      const rows = this.#engine.read(() => this.#reader.select(this.#info(), filter, current));
      return project(
        rows.map((row) => row.doc),
        current.projection,
      ) as Array<WithId<T>>;
    };
    return new EmbeddedCursor(run, spec);
  }

  async countDocuments(filter: Filter<T> = {}, options: CountDocumentsOptions = {}): Promise<number> {
    return this.#engine.read(() => {
      const info = this.#info();
      if (info === undefined) return 0;
      if (Object.keys(filter).length === 0 && options.skip === undefined && options.limit === undefined)
        return this.#reader.count(info);
      if (options.skip === undefined && options.limit === undefined) {
        const exact = this.#reader.countExact(info, filter);
        if (exact !== undefined) return exact;
      }
      return this.#reader.select(info, filter, { skip: options.skip, limit: options.limit }).length;
    });
  }

  async estimatedDocumentCount(): Promise<number> {
    return this.#engine.read(() => {
      const info = this.#info();
      return info === undefined ? 0 : this.#reader.count(info);
    });
  }

  async distinct(key: string, filter: Filter<T> = {}): Promise<unknown[]> {
    const rows = this.#engine.read(() => this.#reader.matching(this.#info(), filter));
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
        const leadingMatch =
          isPlainObject(first) && isPlainObject(first['$match']) ? (first['$match'] as Document) : {};
        const docs = this.#reader.matching(this.#info(), leadingMatch).map((row) => row.doc);
        const collectionResolver = (name: string): Document[] => {
          const info = this.#engine.catalog.get(name);
          return info === undefined
            ? []
            : readRows(this.#engine, info, { kind: 'scan' }).map((row) => decodeDocument(row.doc));
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
    await this.#engine.writeSoon(() => this.#writer.insert(this.#engine.catalog.ensure(this.collectionName), stored));
    return { acknowledged: true, insertedId: source['_id'] as InsertOneResult<T>['insertedId'] };
  }

  async insertMany(docs: ReadonlyArray<OptionalUnlessRequiredId<T>>): Promise<InsertManyResult<T>> {
    if (!Array.isArray(docs)) throw badValue('insertMany: expected an array of documents');
    const sources = docs as Document[];
    for (const source of sources) if (source['_id'] === undefined) source['_id'] = new ObjectId();
    // Ordered insertMany (the driver's default): documents before a failing one stay inserted, the rest are not.
    // The ids are collected inside the write: the engine may run a write twice (engine.ts #runGroup).
    const { failure, insertedIds } = await this.#engine.writeSoon(() => {
      const info = this.#engine.catalog.ensure(this.collectionName);
      const inserted: Record<number, unknown> = {};
      for (const [i, source] of sources.entries()) {
        try {
          this.#writer.insert(info, withIdFirst(source, source['_id']));
        } catch (error) {
          return { failure: error, insertedIds: inserted };
        }
        inserted[i] = source['_id'];
      }
      return { failure: undefined, insertedIds: inserted };
    });
    const insertedCount = Object.keys(insertedIds).length;
    if (failure !== undefined)
      throw Object.assign(failure as Error, { insertedCount, insertedIds, result: { insertedCount, insertedIds } });
    return { acknowledged: true, insertedCount, insertedIds: insertedIds as InsertManyResult<T>['insertedIds'] };
  }

  async updateOne(
    filter: Filter<T>,
    update: UpdateFilter<T> | Document[],
    options: UpdateOptions & { sort?: Sort } = {},
  ): Promise<UpdateResult<T>> {
    assertOperatorUpdate(update);
    return this.#engine.writeSoon(() => {
      const info = options.upsert === true ? this.#engine.catalog.ensure(this.collectionName) : this.#info();
      const [row] = this.#reader.select(info, filter, { sort: normalizeSort(options.sort), limit: 1 });
      if (row === undefined) return this.#upsertResult(info, filter, update, options);
      const { modified } = this.#writer.update(info!, row, update, filter, options.arrayFilters, false);
      return updateResult(1, modified ? 1 : 0);
    });
  }

  async updateMany(
    filter: Filter<T>,
    update: UpdateFilter<T> | Document[],
    options: UpdateOptions = {},
  ): Promise<UpdateResult<T>> {
    assertOperatorUpdate(update);
    // One transaction: unlike MongoDB, a failure half way (a duplicate key) leaves no document updated.
    return this.#engine.writeSoon(() => {
      const info = options.upsert === true ? this.#engine.catalog.ensure(this.collectionName) : this.#info();
      const rows = this.#reader.select(info, filter, {});
      if (rows.length === 0) return this.#upsertResult(info, filter, update, options);
      let modifiedCount = 0;
      for (const row of rows)
        if (this.#writer.update(info!, row, update, filter, options.arrayFilters, false).modified) modifiedCount++;
      return updateResult(rows.length, modifiedCount);
    });
  }

  async replaceOne(
    filter: Filter<T>,
    replacement: WithoutId<T>,
    options: ReplaceOptions = {},
  ): Promise<UpdateResult<T>> {
    assertReplacement(replacement);
    return this.#engine.writeSoon(() => {
      const info = options.upsert === true ? this.#engine.catalog.ensure(this.collectionName) : this.#info();
      const [row] = this.#reader.select(info, filter, { sort: normalizeSort(options.sort), limit: 1 });
      if (row === undefined) {
        if (options.upsert !== true) return updateResult(0, 0);
        const seed = upsertSeed(filter);
        const doc = withIdFirst(replacement, (replacement as Document)['_id'] ?? seed['_id']);
        this.#writer.insert(info!, doc);
        return { ...updateResult(0, 0), upsertedCount: 1, upsertedId: doc['_id'] as UpdateResult<T>['upsertedId'] };
      }
      const next = withIdFirst(replacement, (replacement as Document)['_id'] ?? row.doc['_id']);
      assertSameId(row.doc, next);
      return updateResult(1, this.#writer.rewrite(info!, row, next) ? 1 : 0);
    });
  }

  async deleteOne(filter: Filter<T> = {}): Promise<DeleteResult> {
    return this.#engine.writeSoon(() => {
      const info = this.#info();
      const [row] = this.#reader.select(info, filter, { limit: 1 });
      if (row !== undefined) this.#writer.delete(info!, row);
      return { acknowledged: true, deletedCount: row === undefined ? 0 : 1 };
    });
  }

  async deleteMany(filter: Filter<T> = {}): Promise<DeleteResult> {
    return this.#engine.writeSoon(() => {
      const info = this.#info();
      const rows = this.#reader.select(info, filter, {});
      for (const row of rows) this.#writer.delete(info!, row);
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
    const result = await this.#engine.writeSoon((): Document | null => {
      const info = options.upsert === true ? this.#engine.catalog.ensure(this.collectionName) : this.#info();
      const [row] = this.#reader.select(info, filter, { sort: normalizeSort(options.sort), limit: 1 });
      if (row === undefined) {
        if (options.upsert !== true) return null;
        const inserted = this.#writer.upsert(info!, filter, update, options.arrayFilters as Document[] | undefined);
        return after ? inserted : null;
      }
      const updated = this.#writer.update(
        info!,
        row,
        update,
        filter,
        options.arrayFilters as Document[] | undefined,
        !after,
      );
      return after ? updated.doc : row.doc;
    });
    const value = result === null ? null : (project([result], options.projection)[0] as WithId<T>);
    if (options.includeResultMetadata === true) return { value, ok: 1 } as unknown as WithId<T>;
    return value;
  }

  async findOneAndDelete(filter: Filter<T>, options: FindOneAndDeleteOptions = {}): Promise<WithId<T> | null> {
    const doc = await this.#engine.writeSoon(() => {
      const info = this.#info();
      const [row] = this.#reader.select(info, filter, { sort: normalizeSort(options.sort), limit: 1 });
      if (row === undefined) return null;
      this.#writer.delete(info!, row);
      return row.doc;
    });
    return doc === null ? null : (project([doc], options.projection)[0] as WithId<T>);
  }

  async createIndex(spec: IndexSpecification, options: CreateIndexesOptions = {}): Promise<string> {
    const fields = parseIndexSpec(spec);
    const name = options.name ?? defaultIndexName(fields);
    if (fields.length === 1 && fields[0]!.path === '_id') return '_id_';
    if (options.expireAfterSeconds !== undefined) {
      throw new Error(
        `createIndex ${name}: TTL indexes (expireAfterSeconds) are not supported by the embedded engine; use a scheduled job`,
      );
    }
    const wanted = {
      name,
      fields,
      unique: options.unique === true,
      sparse: options.sparse === true,
      partial: options.partialFilterExpression,
    };
    return this.#engine.writeSoon(() => {
      const info = this.#engine.catalog.ensure(this.collectionName);
      const existing = info.indexes.find((index) => index.name === name || sameFields(index, wanted.fields));
      if (existing !== undefined) return this.#existingIndex(existing, wanted);
      const index = this.#engine.catalog.addIndex(info, wanted);
      for (const row of readRows(this.#engine, info, { kind: 'scan' }))
        this.#writer.indexRow(info, index, row.rid, decodeDocument(row.doc));
      return name;
    });
  }

  /**
   * Not part of HubDb: how the embedded engine would read `filter` (with an optional sort and limit) – the
   * plan, the SQL and SQLite's EXPLAIN QUERY PLAN lines. Tests use it to prove that indexed lookups do not scan.
   */
  explain(filter: Filter<T> = {}, options: { sort?: Sort; limit?: number } = {}): Explained {
    return this.#engine.read(() => explainRead(this.#engine, this.#reader, this.#info(), filter, options));
  }

  /** Not part of HubDb: for tests and tools that need an empty collection. */
  async drop(): Promise<boolean> {
    return this.#engine.writeSoon(() => {
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

  #upsertResult(
    info: CollectionInfo | undefined,
    filter: Document,
    update: UpdateSpec,
    options: UpdateOptions,
  ): UpdateResult<T> {
    if (options.upsert !== true || info === undefined) return updateResult(0, 0);
    const doc = this.#writer.upsert(info, filter, update, options.arrayFilters as Document[] | undefined);
    return { ...updateResult(0, 0), upsertedCount: 1, upsertedId: doc['_id'] as UpdateResult<T>['upsertedId'] };
  }

  #existingIndex(
    existing: IndexInfo,
    wanted: {
      name: string;
      fields: IndexInfo['fields'];
      unique: boolean;
      sparse: boolean;
      partial: Document | undefined;
    },
  ): string {
    const sameOptions =
      existing.unique === wanted.unique &&
      existing.sparse === wanted.sparse &&
      encodeDocument(existing.partial ?? null) === encodeDocument(wanted.partial ?? null);
    if (existing.name === wanted.name && sameFields(existing, wanted.fields) && sameOptions) return existing.name;
    if (existing.name === wanted.name) {
      throw new StoreError(
        86,
        'IndexKeySpecsConflict',
        `An existing index has the same name as the requested index but different keys or options: ${wanted.name}`,
      );
    }
    throw new StoreError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${existing.name}`);
  }
}

function sameFields(index: IndexInfo, fields: IndexInfo['fields']): boolean {
  return (
    index.fields.length === fields.length &&
    index.fields.every((field, i) => field.path === fields[i]!.path && field.direction === fields[i]!.direction)
  );
}

function updateResult<T extends Document>(matchedCount: number, modifiedCount: number): UpdateResult<T> {
  return { acknowledged: true, matchedCount, modifiedCount, upsertedCount: 0, upsertedId: null };
}
