// Cursors run their query on first read (as the driver's do), so sort/skip/limit/project may be chained after
// find(). The result is read in one go inside one snapshot: an open SQLite statement cannot be held across
// awaits while the same connection keeps serving other operations.
import type { Document, Sort } from 'mongodb';
import type { HubAggregationCursor, HubCursor } from '../db.ts';
import { badValue } from './errors.ts';
import { normalizeSort, type SortSpec } from './sort.ts';

export interface FindSpec {
  sort?: SortSpec | undefined;
  skip?: number | undefined;
  limit?: number | undefined;
  projection?: Document | undefined;
}

abstract class BufferedCursor<T> implements AsyncIterable<T> {
  #buffer: T[] | undefined;
  #position = 0;

  protected abstract load(): T[];

  protected get started(): boolean {
    return this.#buffer !== undefined;
  }

  #rows(): T[] {
    this.#buffer ??= this.load();
    return this.#buffer;
  }

  async toArray(): Promise<T[]> {
    const rows = this.#rows();
    const rest = this.#position === 0 ? rows : rows.slice(this.#position);
    this.#position = rows.length;
    return rest;
  }

  async next(): Promise<T | null> {
    const rows = this.#rows();
    if (this.#position >= rows.length) return null;
    return rows[this.#position++] ?? null;
  }

  async close(): Promise<void> {
    this.#buffer = [];
    this.#position = 0;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (let item = await this.next(); item !== null; item = await this.next()) yield item;
  }
}

export class EmbeddedCursor<T> extends BufferedCursor<T> implements HubCursor<T> {
  readonly #run: (spec: FindSpec) => T[];
  readonly #spec: FindSpec;

  constructor(run: (spec: FindSpec) => T[], spec: FindSpec) {
    super();
    this.#run = run;
    this.#spec = spec;
  }

  protected load(): T[] {
    return this.#run(this.#spec);
  }

  #change(): void {
    if (this.started) throw new Error('cursor is already in use: sort/skip/limit/project must come before reading');
  }

  sort(sort: Sort): HubCursor<T> {
    this.#change();
    this.#spec.sort = normalizeSort(sort);
    return this;
  }

  skip(count: number): HubCursor<T> {
    this.#change();
    if (!Number.isInteger(count) || count < 0) throw badValue(`skip: expected a non-negative integer, got ${count}`);
    this.#spec.skip = count;
    return this;
  }

  limit(count: number): HubCursor<T> {
    this.#change();
    if (!Number.isInteger(count)) throw badValue(`limit: expected an integer, got ${count}`);
    // MongoDB: 0 means no limit; a negative limit returns that many in one batch.
    this.#spec.limit = count === 0 ? undefined : Math.abs(count);
    return this;
  }

  project<P extends Document = Document>(projection: Document): HubCursor<P> {
    this.#change();
    this.#spec.projection = projection;
    return this as unknown as HubCursor<P>;
  }
}

export class EmbeddedAggregationCursor<T> extends BufferedCursor<T> implements HubAggregationCursor<T> {
  readonly #run: () => T[];

  constructor(run: () => T[]) {
    super();
    this.#run = run;
  }

  protected load(): T[] {
    return this.#run();
  }
}
