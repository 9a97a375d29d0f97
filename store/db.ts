// The one data interface of the hub: the subset of the MongoDB driver's Db/Collection API that the hub uses.
// Both engines satisfy it: the official driver (store/mongo-engine.ts checks that at compile time) and the
// embedded engine on node:sqlite. Code outside store/ sees only these types, so it cannot call a method that
// one engine lacks, and it never learns which engine it has.
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

export type { Document, Filter, Sort, UpdateFilter, WithId } from 'mongodb';

export interface HubCursor<T> extends AsyncIterable<T> {
  sort(sort: Sort): HubCursor<T>;
  skip(count: number): HubCursor<T>;
  limit(count: number): HubCursor<T>;
  project<P extends Document = Document>(projection: Document): HubCursor<P>;
  toArray(): Promise<T[]>;
  next(): Promise<T | null>;
  close(): Promise<void>;
}

export interface HubAggregationCursor<T> extends AsyncIterable<T> {
  toArray(): Promise<T[]>;
}

export interface HubCollection<T extends Document = Document> {
  readonly collectionName: string;
  insertOne(doc: OptionalUnlessRequiredId<T>): Promise<InsertOneResult<T>>;
  insertMany(docs: ReadonlyArray<OptionalUnlessRequiredId<T>>): Promise<InsertManyResult<T>>;
  findOne(filter: Filter<T>, options?: FindOptions): Promise<WithId<T> | null>;
  find(filter: Filter<T>, options?: FindOptions): HubCursor<WithId<T>>;
  updateOne(filter: Filter<T>, update: UpdateFilter<T>, options?: UpdateOptions): Promise<UpdateResult<T>>;
  updateMany(filter: Filter<T>, update: UpdateFilter<T>, options?: UpdateOptions): Promise<UpdateResult<T>>;
  replaceOne(
    filter: Filter<T>,
    replacement: WithoutId<T>,
    options?: ReplaceOptions,
  ): Promise<UpdateResult<T> | Document>;
  deleteOne(filter: Filter<T>): Promise<DeleteResult>;
  deleteMany(filter: Filter<T>): Promise<DeleteResult>;
  findOneAndUpdate(
    filter: Filter<T>,
    update: UpdateFilter<T>,
    options: FindOneAndUpdateOptions & { includeResultMetadata?: false },
  ): Promise<WithId<T> | null>;
  findOneAndDelete(filter: Filter<T>): Promise<WithId<T> | null>;
  countDocuments(filter?: Filter<T>, options?: CountDocumentsOptions): Promise<number>;
  estimatedDocumentCount(): Promise<number>;
  distinct(key: string, filter: Filter<T>): Promise<unknown[]>;
  aggregate<R extends Document = Document>(pipeline: Document[], options?: AggregateOptions): HubAggregationCursor<R>;
  createIndex(spec: IndexSpecification, options?: CreateIndexesOptions): Promise<string>;
}

export interface HubDb {
  readonly databaseName: string;
  collection<T extends Document = Document>(name: string): HubCollection<T>;
}

/** What store/open.ts hands to hub.ts: the Db, which engine it is (for /health only), and how to close it. */
export interface Store {
  readonly db: HubDb;
  readonly engine: 'embedded' | 'mongodb';
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** MongoDB's error code for a duplicate key in a unique index; the embedded engine throws the same. */
export const DUPLICATE_KEY = 11000;

export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DUPLICATE_KEY;
}
