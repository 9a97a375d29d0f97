// Fax jobs at the gateway, kept in the `fax_jobs` collection so they outlive a restart. A fax is not delivered
// when the gateway takes it: the gateway dials, maybe several times, and only its status operation says delivered
// or failed. So sending records the gateway's job id here, a scheduled job (agenda, runtime/scheduler.ts) polls
// the status until it is final, and the delivery waits for that (soap-fax-sender.ts). A restart finds the job
// here and the poll in the scheduler's collection, and neither faxes twice nor loses the outcome.
import { EventEmitter } from 'node:events';
import { errorText, type Logger } from '../runtime/log.ts';
import type { Scheduler } from '../runtime/scheduler.ts';
import type { HubCollection, HubDb } from '../store/db.ts';

export type FaxFinal = 'delivered' | 'failed';

export interface FaxJobDoc {
  /** channelId, destination and message id: one job per delivery of a message. */
  _id: string;
  channelId: string;
  destination: string;
  gatewayJobId: string;
  /** The gateway's last status word (queued, sending, …). */
  status: string;
  final?: FaxFinal;
  detail?: string;
  submittedAt: Date;
  polls: number;
  lastPollError?: string;
}

/** What one poll of the gateway found. */
export type PollOutcome =
  | { kind: 'pending'; status: string }
  | { kind: 'final'; final: FaxFinal; status: string; detail?: string }
  | { kind: 'error'; error: string };

export interface FaxPoller {
  readonly pollIntervalMs: number;
  /** Past this long after submission with no final status the fax counts as failed. */
  readonly giveUpAfterMs: number;
  poll(gatewayJobId: string): Promise<PollOutcome>;
}

const pollJob = 'fax-status-poll';
/**
 * A job whose destination is not deployed (yet) is looked at again after this long. After a restart the
 * scheduler starts before the channels deploy, so a poll due at that moment waits this long once.
 */
const defaultUndeployedRetryMs = 30_000;

export function faxJobKey(channelId: string, destination: string, messageId: string): string {
  return `${channelId}\u0000${destination}\u0000${messageId}`;
}

export class FaxJobs {
  readonly #jobs: HubCollection<FaxJobDoc>;
  readonly #scheduler: Scheduler;
  readonly #log: Logger;
  readonly #pollers = new Map<string, FaxPoller>();
  readonly #settled = new EventEmitter();
  readonly #undeployedRetryMs: number;

  constructor(db: HubDb, scheduler: Scheduler, log: Logger, options: { undeployedRetryMs?: number } = {}) {
    this.#undeployedRetryMs = options.undeployedRetryMs ?? defaultUndeployedRetryMs;
    this.#jobs = db.collection<FaxJobDoc>('fax_jobs');
    this.#scheduler = scheduler;
    this.#log = log;
    this.#settled.setMaxListeners(0);
    // Each poll schedules the next as a new one-time job: removed once run, or the jobs collection would keep
    // one document per poll of every fax ever sent. A poll that throws stays, for agenda to run again.
    scheduler.define<{ key: string }>(pollJob, (data) => this.#poll(data.key), {
      concurrency: 4,
      removeOnComplete: true,
    });
  }

  /** A deployed soap-fax destination answers the polls of its jobs. */
  register(channelId: string, destination: string, poller: FaxPoller): () => void {
    const key = `${channelId}\u0000${destination}`;
    this.#pollers.set(key, poller);
    return () => {
      if (this.#pollers.get(key) === poller) this.#pollers.delete(key);
    };
  }

  /** The job of this delivery not yet reported back to its delivery, if any. */
  async current(key: string): Promise<FaxJobDoc | null> {
    return this.#jobs.findOne({ _id: key });
  }

  async submitted(key: string, channelId: string, destination: string, gatewayJobId: string, firstPollMs: number) {
    const doc: FaxJobDoc = {
      _id: key,
      channelId,
      destination,
      gatewayJobId,
      status: 'submitted',
      submittedAt: new Date(),
      polls: 0,
    };
    await this.#jobs.replaceOne({ _id: key }, doc, { upsert: true });
    await this.#scheduler.schedule(new Date(Date.now() + firstPollMs), pollJob, { key });
  }

  /**
   * The delivery has the final outcome: the job is forgotten, so the collection holds only faxes in progress and
   * a later send of the same message (an analyst's resend) faxes again. A crash before this leaves the final job,
   * which the retried delivery reads instead of faxing twice.
   */
  async reported(key: string): Promise<void> {
    await this.#jobs.deleteOne({ _id: key });
  }

  /**
   * Resolves with the job once it is final, or undefined once `stopping` is aborted (the hub is stopping). The
   * abort listener is removed when the wait ends: a destination stays deployed for months, and a reaction left
   * per fax on a long-lived promise would keep one closure for every fax it ever sent.
   */
  async final(key: string, recheckMs: number, stopping: AbortSignal): Promise<FaxJobDoc | undefined> {
    const wake = () => this.#settled.emit(key);
    stopping.addEventListener('abort', wake, { once: true });
    try {
      while (!stopping.aborted) {
        const job = await this.#jobs.findOne({ _id: key });
        if (job?.final !== undefined) return job;
        if (stopping.aborted) break;
        // Woken by a poll in this process; the timer covers a poll that ran in another process.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, recheckMs);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          this.#settled.once(key, done);
        });
        this.#settled.removeAllListeners(key);
      }
      return undefined;
    } finally {
      stopping.removeEventListener('abort', wake);
    }
  }

  async #poll(key: string): Promise<void> {
    const job = await this.#jobs.findOne({ _id: key });
    if (job === null || job.final !== undefined) return;
    const poller = this.#pollers.get(`${job.channelId}\u0000${job.destination}`);
    if (poller === undefined) {
      await this.#scheduler.schedule(new Date(Date.now() + this.#undeployedRetryMs), pollJob, { key });
      return;
    }
    let outcome: PollOutcome;
    try {
      outcome = await poller.poll(job.gatewayJobId);
    } catch (error) {
      outcome = { kind: 'error', error: errorText(error) };
    }
    if (outcome.kind !== 'final' && Date.now() - job.submittedAt.getTime() > poller.giveUpAfterMs) {
      outcome = {
        kind: 'final',
        final: 'failed',
        status: job.status,
        detail: `no final status from the fax gateway within ${poller.giveUpAfterMs} ms (last: ${job.status})`,
      };
    }
    await this.#record(job, outcome);
    if (outcome.kind === 'final') {
      this.#settled.emit(key);
      return;
    }
    await this.#scheduler.schedule(new Date(Date.now() + poller.pollIntervalMs), pollJob, { key });
  }

  async #record(job: FaxJobDoc, outcome: PollOutcome): Promise<void> {
    const polls = job.polls + 1;
    if (outcome.kind === 'error') {
      // The gateway is unreachable for now: the fax may still go out there, so keep polling.
      this.#log.warn('fax status poll failed; polling again', { gatewayJobId: job.gatewayJobId, polls });
      await this.#jobs.updateOne({ _id: job._id }, { $set: { polls, lastPollError: outcome.error } });
      return;
    }
    const set: Partial<FaxJobDoc> = { polls, status: outcome.status };
    if (outcome.kind === 'final') {
      set.final = outcome.final;
      if (outcome.detail !== undefined) set.detail = outcome.detail;
    }
    await this.#jobs.updateOne({ _id: job._id }, { $set: set });
  }
}
