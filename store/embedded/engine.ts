// The embedded engine: one SQLite file (WAL) per data directory, one connection per process. DatabaseSync is
// synchronous, so an operation runs start to finish without yielding – atomic within the process; across
// processes every write runs in a `BEGIN IMMEDIATE` transaction (the write lock is taken before the first
// read, so two processes cannot both read the same queue head and both claim it). Writes requested in one
// event-loop turn share that transaction and its fsync (group commit, see writeSoon).
// Trap: while another process holds the write lock, BEGIN IMMEDIATE waits (busy timeout) on the main thread.
import { closeSync, fdatasync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Catalog, createCatalogTables } from './catalog.ts';

export interface EngineOptions {
  /** The SQLite file, or ':memory:'. */
  readonly file: string;
  /** How long a process waits for another's write lock before failing with SQLITE_BUSY. */
  readonly busyTimeoutMs?: number;
}

interface PendingWrite {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** SQLite's result code for a lock held by another connection. */
const SQLITE_BUSY = 5;

function isBusy(error: unknown): boolean {
  return (error as { errcode?: number }).errcode === SQLITE_BUSY;
}

/** What Atomics.wait sleeps on while the WAL change is retried (never notified). */
const retrySleep = new Int32Array(new SharedArrayBuffer(4));

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** Writes per group commit: bounds how long the write lock is held (and the event loop blocked) at once. */
const MAX_GROUP = 256;

/** A group waits this long at most for another process's write lock without blocking, then waits blocked. */
const MAX_POLITE_WAIT_MS = 2_000;

/** BEGIN IMMEDIATE found the write lock held by another process (SQLITE_BUSY) and was not to wait for it. */
const lockBusy = Symbol('lock busy');

export class EmbeddedEngine {
  readonly file: string;
  readonly catalog: Catalog;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #open = true;
  #pending: PendingWrite[] = [];
  #commits = 0;
  #walFd: number | undefined;
  /** Resolutions waiting for an fsync of the WAL that started after their COMMIT. */
  #unsynced: Array<() => void> = [];
  #syncing = false;
  readonly #busyTimeoutMs: number;
  /** Since when the pending writes wait for another process's write lock (0: they don't). */
  #lockWaitSince = 0;
  #lockRetry: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: EngineOptions) {
    this.file = options.file;
    if (options.file !== ':memory:') mkdirSync(path.dirname(options.file), { recursive: true });
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 30_000;
    this.#db = new DatabaseSync(options.file, { timeout: this.#busyTimeoutMs });
    this.#enterWal();
    // A write's promise resolves only once the write is on disk (a message the hub has acknowledged must survive
    // a power cut, not only a process crash). SQLite's synchronous=FULL would give that by fsyncing the WAL
    // inside COMMIT – on the event loop, stalling every socket for the length of an fsync. Instead: NORMAL (COMMIT
    // appends to the WAL without syncing; SQLite itself still syncs the WAL before every checkpoint, so the
    // database file is never ahead of a synced log), then we fdatasync the WAL file on libuv's thread pool (as
    // SQLite itself does on Linux: the file's data and size, not its timestamps) and
    // resolve the group's promises after it (see #durable). Until then nobody has been told the write happened.
    // A file-less (':memory:') database has nothing to sync.
    this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#db.exec('PRAGMA foreign_keys = OFF');
    this.#write(() => createCatalogTables(this.#db));
    this.#walFd = options.file === ':memory:' ? undefined : openSync(`${options.file}-wal`, 'r+');
    this.catalog = new Catalog(this.#db, (sql) => this.prepare(sql));
  }

  /**
   * Puts the file in WAL mode (a no-op once it is). Processes opening a new store at the same moment (the workers
   * of `hub.workers` on a fresh data dir) race for the change, and SQLite answers the loser SQLITE_BUSY at once,
   * without its busy handler: retried here, a few ms apart, for as long as a lock is waited for anywhere else.
   * Blocking is fine: this runs once, while the process starts.
   */
  #enterWal(): void {
    const until = Date.now() + this.#busyTimeoutMs;
    for (;;) {
      try {
        this.#db.exec('PRAGMA journal_mode = WAL');
        return;
      } catch (error) {
        if (!isBusy(error) || Date.now() > until) throw error;
        Atomics.wait(retrySleep, 0, 0, 5);
      }
    }
  }

  /** Transactions committed by this connection (reads included); shows group commit at work. */
  get commits(): number {
    return this.#commits;
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

  /**
   * Group commit: writes requested in the same turn of the event loop (eight HL7 connections each waiting for
   * its ACK) run one after another in ONE transaction, so they share one fsync; each promise still resolves
   * only after that COMMIT, so "resolved" keeps meaning "on disk". Each write still succeeds or fails alone
   * (#runGroup): a failing one is undone and rejected alone.
   */
  writeSoon<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      // While an fdatasync is under way, writes wait for it and then commit together (#syncWal): committed now,
      // they would wait for the next fdatasync all the same, only as more, smaller commits, and a commit's
      // CPU (writing its pages to the WAL) was the largest single cost of HL7 ingest (CPU profile).
      if (this.#pending.length === 1 && !this.#syncing) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#lockRetry !== undefined) return;
    const batch = this.#pending.splice(0, MAX_GROUP);
    if (this.#pending.length > 0) setImmediate(() => this.#flush());
    if (batch.length === 0) return;
    try {
      this.#assertOpen();
      if (batch.length === 1) {
        const [only] = batch as [PendingWrite];
        const value = this.#db.isTransaction ? only.work() : this.#write(only.work, this.#mayWaitPolitely());
        this.#lockWaitSince = 0;
        this.#durable(() => only.resolve(value));
        return;
      }
      this.#flushGroup(batch);
      this.#lockWaitSince = 0;
    } catch (error) {
      if (error === lockBusy) return this.#retryLater(batch);
      for (const item of batch) item.reject(error);
    }
  }

  /**
   * Another hub process holds the write lock (hub.workers on one file). SQLite's own busy handler would sleep on
   * the event loop (1, 2, 5, 10 … ms at a time) and stall every socket of this process; instead the group goes back
   * to the head of the queue and is tried again a millisecond later, while this process keeps serving (and its
   * group grows). After MAX_POLITE_WAIT_MS it waits blocked, so a busy sibling cannot starve it.
   */
  #retryLater(batch: PendingWrite[]): void {
    this.#pending.unshift(...batch);
    if (this.#lockWaitSince === 0) this.#lockWaitSince = Date.now();
    this.#lockRetry = setTimeout(() => {
      this.#lockRetry = undefined;
      this.#flush();
    }, 1);
  }

  #mayWaitPolitely(): boolean {
    return !this.#closing && (this.#lockWaitSince === 0 || Date.now() - this.#lockWaitSince < MAX_POLITE_WAIT_MS);
  }

  /**
   * Runs `settle` once everything committed so far is on disk. One fsync covers every COMMIT before it, so
   * commits that arrive while an fsync runs wait for the next one, and fsyncs never pile up.
   */
  #durable(settle: () => void): void {
    if (this.#walFd === undefined) return settle();
    this.#unsynced.push(settle);
    if (!this.#syncing) this.#syncWal();
  }

  #syncWal(): void {
    const fd = this.#walFd;
    const waiting = this.#unsynced;
    this.#unsynced = [];
    if (fd === undefined || waiting.length === 0) return;
    this.#syncing = true;
    fdatasync(fd, (error) => {
      this.#syncing = false;
      if (error) {
        // The data may not be on disk: fail loudly rather than acknowledge what could be lost.
        throw new Error(`the embedded store could not sync ${this.file}-wal: ${error.message}`);
      }
      for (const settle of waiting) settle();
      // The writes that waited for this fdatasync: after the settled writers' continuations (their ACKs).
      if (this.#pending.length > 0) setImmediate(() => this.#flush());
      if (this.#unsynced.length > 0) this.#syncWal();
    });
  }

  #flushGroup(batch: PendingWrite[]): void {
    const outcomes = this.#runGroup(batch, this.#mayWaitPolitely());
    this.#durable(() =>
      batch.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      }),
    );
  }

  /**
   * Each write of a group must succeed or fail alone. A SAVEPOINT per write gives that, but SQLite then copies
   * every page a write touches, that an earlier write of the group already changed, into the statement journal
   * first – the same few index leaves, for every write: 7 % of HL7 ingest's main thread (perf). Writes rarely
   * fail, so the group runs first without savepoints; only when one fails is it all rolled back and run again,
   * one savepoint per write, from the state before it (nothing of the first run was seen outside this call).
   */
  #runGroup(batch: PendingWrite[], polite: boolean): Outcome[] {
    let writeFailed = false;
    let catalogBefore = -1;
    try {
      return this.#write(
        () =>
          batch.map((item, i): Outcome => {
            if (i === 0) catalogBefore = this.catalog.version;
            try {
              return { ok: true, value: item.work() };
            } catch (error) {
              writeFailed = true;
              throw error;
            }
          }),
        polite,
      );
    } catch (error) {
      // Not a write's own failure (the lock, the disk): running it again would not help.
      if (!writeFailed) throw error;
      // The rollback undid what the group changed of the catalog (a collection, an index) that the cache already
      // holds. Only then is the cache stale: reloading it on every failure cost a modality resending a study
      // ~0.5 ms per instance (each duplicate a failed insert), the largest part of its main thread in a profile.
      if (this.catalog.version !== catalogBefore) this.catalog.invalidate();
      return this.#write(() => batch.map((item) => this.#runAlone(item)));
    }
  }

  #runAlone(item: PendingWrite): Outcome {
    const catalogBefore = this.catalog.version;
    this.prepare('SAVEPOINT hub_write').run();
    try {
      const value = item.work();
      this.prepare('RELEASE hub_write').run();
      return { ok: true, value };
    } catch (error) {
      this.#db.exec('ROLLBACK TO hub_write');
      this.#db.exec('RELEASE hub_write');
      // The failed write may have changed the cached catalog (a new collection) that its rollback undid.
      if (this.catalog.version !== catalogBefore) {
        this.catalog.invalidate();
        this.catalog.refresh();
      }
      return { ok: false, error };
    }
  }

  /** `polite`: when another process holds the write lock, throw lockBusy at once instead of waiting for it. */
  #write<T>(work: () => T, polite = false): T {
    // Cached like every statement: exec() and an uncached prepare() parse the SQL again on every write.
    if (polite) this.#beginWithoutWaiting();
    else this.prepare('BEGIN IMMEDIATE').run();
    return this.#finish(work);
  }

  #beginWithoutWaiting(): void {
    this.prepare('PRAGMA busy_timeout = 0').run();
    try {
      this.prepare('BEGIN IMMEDIATE').run();
    } catch (error) {
      if (isBusy(error)) throw lockBusy;
      throw error;
    } finally {
      this.prepare(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`).run();
    }
  }

  #finish<T>(work: () => T): T {
    try {
      this.catalog?.refresh();
      const result = work();
      this.prepare('COMMIT').run();
      this.#commits++;
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Writes already requested are carried out and synced: their callers were promised them. */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#closing = true;
    if (this.#lockRetry !== undefined) clearTimeout(this.#lockRetry);
    this.#lockRetry = undefined;
    while (this.#pending.length > 0) this.#flush();
    while (this.#syncing || this.#unsynced.length > 0) await new Promise<void>((resolve) => this.#durable(resolve));
    this.#open = false;
    this.#statements.clear();
    this.#db.close();
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    this.#walFd = undefined;
  }

  #assertOpen(): void {
    if (!this.#open) throw new Error(`the embedded store ${this.file} is closed`);
  }
}
