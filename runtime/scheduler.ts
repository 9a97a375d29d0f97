// The hub's scheduler: agenda 6 on the hub's own store (either engine) through @agendajs/mongo-backend, so jobs
// (retention, retries, reports) survive restarts and are claimed by one process only when several run.
// Retries use agenda's own backoff (job definition `backoff`): a failed run is rescheduled in the jobs
// collection, so a retry pending at shutdown still happens after the restart.
import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda, exponential, type Job } from 'agenda';
import type { Db } from 'mongodb';
import { type JobsCollection, releaseAbandonedLocks } from './abandoned-locks.ts';
import { errorText, type Logger } from './log.ts';

/** How long stop() waits for running jobs (a fax poll's SOAP call is bounded by its own timeout). */
const drainTimeoutMs = 15_000;

export interface RetryPolicy {
  /** Total runs including the first; 1 means no retry. */
  readonly maxAttempts: number;
  /** Delay before the first retry; each further retry waits `factor` times longer. */
  readonly initialDelayMs: number;
  readonly factor?: number;
  readonly maxDelayMs?: number;
}

export interface JobOptions {
  readonly retry?: RetryPolicy;
  /** Runs of this job at the same time in this process (agenda's concurrency). */
  readonly concurrency?: number;
  /** A lock older than this is considered abandoned (its process died) and the job runs again. */
  readonly lockLifetimeMs?: number;
  /**
   * A one-time run that succeeded is deleted from the jobs collection instead of kept with its lastFinishedAt:
   * for jobs scheduled again and again (a poll per interval), which would otherwise grow the collection forever.
   */
  readonly removeOnComplete?: boolean;
}

export interface JobRun {
  readonly jobId: string;
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
}

export type JobHandler<D> = (data: D, run: JobRun) => Promise<void>;

/**
 * The hub's store Db (store/db.ts HubDb, either engine), which agenda's backend uses as a driver Db (LIBRARIES.md
 * lists the calls). Named by shape, so that runtime/, the ground floor, imports no layer above it.
 */
export interface SchedulerDb {
  collection(name: string): unknown;
}

export interface SchedulerOptions {
  readonly db: SchedulerDb;
  readonly log: Logger;
  /** How often each process looks for due jobs; tests use a few milliseconds. */
  readonly processEveryMs?: number;
  readonly collection?: string;
  /** Identifies this process in the jobs' lastModifiedBy (and so in their locks). */
  readonly name?: string;
  /** True for a lock holder (an earlier `name`) whose process has exited: its locks are freed at start. */
  readonly isAbandoned?: (holder: string) => boolean;
  /**
   * A lock older than this is abandoned (default agenda's 10 minutes). Library trap: after every run agenda
   * keeps a liveness timer of half this lifetime, which holds the event loop open; tests use a short one.
   */
  readonly defaultLockLifetimeMs?: number;
}

interface Definition {
  readonly handler: JobHandler<unknown>;
  readonly options: JobOptions;
}

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #log: Logger;
  readonly #definitions = new Map<string, Definition>();
  #agenda: Agenda | undefined;
  #running = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  /** Define before or after start(); a job whose name has no definition waits in the store until one exists. */
  define<D>(name: string, handler: JobHandler<D>, options: JobOptions = {}): void {
    if (this.#definitions.has(name)) throw new Error(`scheduler: job '${name}' is already defined`);
    const definition: Definition = { handler: handler as JobHandler<unknown>, options };
    this.#definitions.set(name, definition);
    if (this.#agenda !== undefined) this.#defineOn(this.#agenda, name, definition);
  }

  async start(): Promise<void> {
    if (this.#running) return;
    const collection = this.#options.collection ?? 'agendaJobs';
    if (this.#options.isAbandoned !== undefined) {
      const freed = await releaseAbandonedLocks(this.#jobs(), this.#options.isAbandoned);
      if (freed > 0) this.#log.info('jobs locked by exited processes released', { jobs: freed });
    }
    const backend = new MongoBackend({ mongo: this.#options.db as unknown as Db, collection });
    const agenda = new Agenda({
      backend,
      name: this.#options.name ?? `hub-${process.pid}`,
      processEvery: this.#options.processEveryMs ?? 5_000,
      ...(this.#options.defaultLockLifetimeMs === undefined
        ? {}
        : { defaultLockLifetime: this.#options.defaultLockLifetimeMs }),
    });
    agenda.on('error', (error: Error) => this.#log.error('scheduler error', { error: errorText(error) }));
    agenda.on('retry exhausted', (error: Error, job: Job) => {
      this.#log.warn('job failed, no retries left', {
        job: job.attrs.name,
        jobId: String(job.attrs._id),
        failCount: job.attrs.failCount ?? 0,
      });
      this.#log.debug('job failure detail', { jobId: String(job.attrs._id) }, { error: errorText(error) });
    });
    agenda.on('retry', (job: Job, details: { attempt: number; delay: number }) => {
      this.#log.info('job retry scheduled', {
        job: job.attrs.name,
        jobId: String(job.attrs._id),
        attempt: details.attempt,
        delayMs: details.delay,
      });
    });
    for (const [name, definition] of this.#definitions) this.#defineOn(agenda, name, definition);
    await agenda.start();
    this.#agenda = agenda;
    this.#running = true;
    this.#log.info('scheduler started', { jobs: this.#definitions.size });
  }

  /** Stops polling and releases this process's locks so another process (or the next start) can run them. */
  async stop(): Promise<void> {
    const agenda = this.#agenda;
    if (agenda === undefined || !this.#running) return;
    this.#running = false;
    // Kept until agenda has stopped: a job still running may schedule its follow-up (a fax poll schedules the
    // next), which is stored for the next start; dropped first, that follow-up threw and left the running job
    // failed in the collection for good. Drained, not stopped: stop() returns while jobs still run, and a job that
    // then finished against a closed store was saved as done but never removed (removeOnComplete), so a fax poll
    // stayed in the collection for good. One that outlasts the wait keeps its lock and runs again after it expires.
    const drained = await agenda.drain({ timeout: drainTimeoutMs });
    if (drained.timedOut) this.#log.warn('scheduler stopped with jobs still running', { running: drained.running });
    this.#agenda = undefined;
    this.#log.info('scheduler stopped');
  }

  isRunning(): boolean {
    return this.#running;
  }

  /** Runs `name` once at `when` (a Date or agenda's human interval, e.g. 'in 5 minutes'); returns the job id. */
  async schedule<D>(when: Date | string, name: string, data: D): Promise<string> {
    const job = await this.#require().schedule(when, name, data);
    return String(job.attrs._id);
  }

  async now<D>(name: string, data: D): Promise<string> {
    const job = await this.#require().now(name, data);
    return String(job.attrs._id);
  }

  /** A repeating job (one per name): `interval` is milliseconds, a human interval or a cron expression. */
  async every<D>(interval: string | number, name: string, data?: D): Promise<void> {
    await this.#require().every(interval, name, data);
  }

  /** Removes scheduled jobs of that name; returns how many. */
  async cancel(name: string): Promise<number> {
    return this.#require().cancel({ name });
  }

  /**
   * Deletes the finished one-time runs of `name` that an earlier version kept (before its definition had
   * removeOnComplete): not due again, not locked, run at least once. Returns how many.
   */
  async purgeFinished(name: string): Promise<number> {
    const jobs = this.#jobs();
    const { deletedCount } = await jobs.deleteMany({
      name,
      nextRunAt: null,
      lockedAt: null,
      lastFinishedAt: { $exists: true },
    });
    return deletedCount;
  }

  #jobs(): JobsCollection {
    return this.#options.db.collection(this.#options.collection ?? 'agendaJobs') as JobsCollection;
  }

  #require(): Agenda {
    if (this.#agenda === undefined) throw new Error('scheduler is not running: call start() first');
    return this.#agenda;
  }

  #defineOn(agenda: Agenda, name: string, definition: Definition): void {
    const { retry, concurrency, lockLifetimeMs, removeOnComplete } = definition.options;
    const processor = async (job: Job<unknown>): Promise<void> => {
      const run: JobRun = { jobId: String(job.attrs._id), attempt: (job.attrs.failCount ?? 0) + 1 };
      try {
        await definition.handler(job.attrs.data, run);
      } catch (error) {
        this.#log.warn('job run failed', { job: name, jobId: run.jobId, attempt: run.attempt });
        this.#log.debug('job run failure detail', { jobId: run.jobId }, { error: errorText(error) });
        throw error;
      }
    };
    agenda.define(name, processor, {
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(lockLifetimeMs === undefined ? {} : { lockLifetime: lockLifetimeMs }),
      ...(removeOnComplete === undefined ? {} : { removeOnComplete }),
      ...(retry === undefined || retry.maxAttempts <= 1
        ? {}
        : {
            backoff: exponential({
              delay: retry.initialDelayMs,
              factor: retry.factor ?? 2,
              maxRetries: retry.maxAttempts - 1,
              ...(retry.maxDelayMs === undefined ? {} : { maxDelay: retry.maxDelayMs }),
            }),
          }),
    });
  }
}
