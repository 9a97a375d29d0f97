// The embedded engine: one SQLite file (WAL) per data directory, one connection per process. DatabaseSync is
// synchronous, so an operation runs start to finish without yielding – atomic within the process; across
// processes every write runs in a `BEGIN IMMEDIATE` transaction (the write lock is taken before the first
// read, so two processes cannot both read the same queue head and both claim it).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Catalog, createCatalogTables } from './catalog.ts';

export interface EngineOptions {
  /** The SQLite file, or ':memory:'. */
  readonly file: string;
  /** How long a process waits for another's write lock before failing with SQLITE_BUSY. */
  readonly busyTimeoutMs?: number;
}

export class EmbeddedEngine {
  readonly file: string;
  readonly catalog: Catalog;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #open = true;

  constructor(options: EngineOptions) {
    this.file = options.file;
    if (options.file !== ':memory:') mkdirSync(path.dirname(options.file), { recursive: true });
    this.#db = new DatabaseSync(options.file, { timeout: options.busyTimeoutMs ?? 30_000 });
    this.#db.exec('PRAGMA journal_mode = WAL');
    // FULL: in WAL mode every commit then fsyncs the log before COMMIT returns, so a write whose promise has
    // resolved (a message the hub has acknowledged) survives a power cut, not only a process crash. NORMAL
    // would sync only at checkpoints and could lose the last commits on power loss – DESIGN forbids that.
    this.#db.exec('PRAGMA synchronous = FULL');
    this.#db.exec('PRAGMA foreign_keys = OFF');
    this.#write(() => createCatalogTables(this.#db));
    this.catalog = new Catalog(this.#db, (sql) => this.prepare(sql));
  }

  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Statements are cached per SQL text: the hot path prepares nothing. */
  prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      this.#assertOpen();
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Reads a setting of this connection (journal_mode, synchronous, busy_timeout) for diagnostics and tests. */
  pragma(name: 'journal_mode' | 'synchronous' | 'busy_timeout'): unknown {
    this.#assertOpen();
    const row = this.#db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown> | undefined;
    return row === undefined ? undefined : Object.values(row)[0];
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /**
   * Runs reads with a current catalog. No transaction: each SELECT is its own snapshot, and a plan made from a
   * catalog a moment older than the data is still correct (an index another process just added is merely not
   * used) – except a two-sided range, which reads through `snapshot`.
   */
  read<T>(work: () => T): T {
    this.#assertOpen();
    if (this.#db.isTransaction) return work();
    this.catalog.refresh();
    return work();
  }

  /** Runs `work` in one read transaction: the catalog it plans with is the one of the data it reads. */
  snapshot<T>(work: () => T): T {
    this.#assertOpen();
    if (this.#db.isTransaction) return work();
    this.prepare('BEGIN').run();
    return this.#finish(work);
  }

  /** Runs `work` holding the write lock; everything it writes commits together (and is on disk) or not at all. */
  write<T>(work: () => T): T {
    this.#assertOpen();
    if (this.#db.isTransaction) return work();
    return this.#write(work);
  }

  #write<T>(work: () => T): T {
    this.#db.prepare('BEGIN IMMEDIATE').run();
    return this.#finish(work);
  }

  #finish<T>(work: () => T): T {
    try {
      this.catalog?.refresh();
      const result = work();
      this.prepare('COMMIT').run();
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#statements.clear();
    this.#db.close();
  }

  #assertOpen(): void {
    if (!this.#open) throw new Error(`the embedded store ${this.file} is closed`);
  }
}
