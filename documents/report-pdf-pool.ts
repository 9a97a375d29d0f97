// Report PDFs rendered on worker threads (report-pdf-worker.ts), so a render never holds the event loop that
// serves HTTP, MLLP and DICOM: pdfkit is synchronous JavaScript, a few milliseconds a report and far more for a
// long one with an embedded font. A thread given a file also writes it, durably, before it answers. It is handed
// up to `perThread` jobs at once: it renders one at a time, and the file writes and syncs of the ones rendered
// wait on the disk while it renders the next. Renders beyond that wait in a bounded queue, and one more is refused
// with a BusyError (503 + Retry-After over HTTP, a retry for a channel) rather than letting a burst of signings
// pile up memory and latency without limit. A thread that dies fails only the jobs it held and is replaced at the
// next render. The threads start with the first render and end after `hub.threadIdleSeconds` without one
// (runtime/idle-thread.ts).
import { Worker } from 'node:worker_threads';
import { BusyError } from '../runtime/busy.ts';
import { IdleEnd } from '../runtime/idle-thread.ts';
import type { ReportPdfInput } from './report-pdf.ts';
import type { ReportPdfFile } from './report-pdf-file.ts';

export interface ReportPdfPoolOptions {
  /** Threads rendering at once (config `reports.pdfThreads`). */
  threads: number;
  /** Renders that may wait for a thread; one more is refused (config `reports.pdfMaxQueued`). */
  maxQueued: number;
  /** Jobs a thread holds at once (default 4): one renders, the others' files are written meanwhile. */
  perThread?: number;
}

/** What a thread is given: the report, and the file to create with its PDF (none: the bytes only). */
export interface PdfJob {
  id: number;
  input: ReportPdfInput;
  file?: ReportPdfFile;
}

export type PdfReply = { id: number } & ({ ok: true; bytes: Uint8Array } | { ok: false; error: string });

interface Job extends PdfJob {
  resolve: (bytes: Buffer) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  jobs: Map<number, Job>;
  /** When the thread last answered, or was last handed a job while it held none: the start of its current work. */
  since: number;
}

const defaultPerThread = 4;

export class ReportPdfPool {
  readonly #options: ReportPdfPoolOptions;
  readonly #perThread: number;
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  /** Recent time a thread takes per job in ms (moving average), for Retry-After. */
  #jobMs = 20;
  #nextId = 1;
  #stopped = false;
  readonly #idle = new IdleEnd(() => this.#endIdle());

  constructor(options: ReportPdfPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError('threads: at least 1');
    if (!Number.isInteger(options.maxQueued) || options.maxQueued < 0) throw new RangeError('maxQueued: 0 or more');
    const perThread = options.perThread ?? defaultPerThread;
    if (!Number.isInteger(perThread) || perThread < 1) throw new RangeError('perThread: at least 1');
    this.#options = options;
    this.#perThread = perThread;
    this.#slots = Array.from({ length: options.threads }, () => ({ worker: undefined, jobs: new Map(), since: 0 }));
  }

  /** Starts the threads now (they load pdfkit), instead of at the first render. */
  start(): void {
    this.#stopped = false;
    for (const slot of this.#slots) this.#thread(slot);
    this.#idle.idle();
  }

  /** Threads running now (they start with renders and end when idle). */
  get threads(): number {
    return this.#slots.filter((s) => s.worker !== undefined).length;
  }

  /** Renders waiting for a thread, and renders a thread holds. */
  get load(): { queued: number; rendering: number } {
    return { queued: this.#queue.length, rendering: this.#slots.reduce((sum, s) => sum + s.jobs.size, 0) };
  }

  /**
   * The renderer the report service takes (exams/report-render.ts ReportRenderer): with `file`, the thread also
   * creates that file durably before the promise resolves.
   */
  readonly render = (input: ReportPdfInput, file?: ReportPdfFile): Promise<Buffer> => {
    if (this.#stopped) return Promise.reject(new Error('the report PDF threads are stopped'));
    this.#idle.busy();
    const slot = this.#leastBusy();
    if (slot === undefined && this.#queue.length >= this.#options.maxQueued) {
      const waiting = this.#queue.length + this.#slots.length * this.#perThread;
      const seconds = (waiting * this.#jobMs) / this.#slots.length / 1000;
      return Promise.reject(
        new BusyError(`the report PDF renderer is busy (${waiting} renders ahead); try again shortly`, seconds),
      );
    }
    return new Promise<Buffer>((resolve, reject) => {
      const id = this.#nextId++;
      const job: Job = file === undefined ? { id, input, resolve, reject } : { id, input, file, resolve, reject };
      if (slot !== undefined) this.#run(slot, job);
      else this.#queue.push(job);
    });
  };

  /** Ends the threads; renders waiting or under way fail. Safe to call twice, or before start(). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#idle.busy();
    const stopped = new Error('the report PDF threads were stopped');
    for (const job of this.#queue.splice(0)) job.reject(stopped);
    for (const slot of this.#slots) {
      for (const job of slot.jobs.values()) job.reject(stopped);
      slot.jobs.clear();
    }
    await this.#endThreads();
  }

  /** The slot with room that holds the fewest jobs (a thread already running first), if any has room. */
  #leastBusy(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.jobs.size >= this.#perThread) continue;
      if (
        best === undefined ||
        slot.jobs.size < best.jobs.size ||
        (slot.jobs.size === best.jobs.size && best.worker === undefined && slot.worker !== undefined)
      )
        best = slot;
    }
    return best;
  }

  #run(slot: Slot, job: Job): void {
    const worker = this.#thread(slot);
    if (slot.jobs.size === 0) slot.since = performance.now();
    slot.jobs.set(job.id, job);
    // Held only while it has work: an idle pool never keeps the process alive.
    worker.ref();
    // The job without its callbacks, which a thread cannot be sent.
    const { resolve: _resolve, reject: _reject, ...message } = job;
    worker.postMessage(message satisfies PdfJob);
  }

  #thread(slot: Slot): Worker {
    if (slot.worker !== undefined) return slot.worker;
    const worker = new Worker(new URL('./report-pdf-worker.ts', import.meta.url));
    worker.on('message', (reply: PdfReply) => this.#settle(slot, worker, reply));
    worker.on('error', (error) => this.#lost(slot, worker, error));
    worker.on('exit', (code) => this.#lost(slot, worker, new Error(`a report PDF thread exited (code ${code})`)));
    worker.unref();
    slot.worker = worker;
    return worker;
  }

  #settle(slot: Slot, worker: Worker, reply: PdfReply): void {
    const job = slot.jobs.get(reply.id);
    if (slot.worker !== worker || job === undefined) return;
    slot.jobs.delete(reply.id);
    const now = performance.now();
    this.#jobMs = 0.8 * this.#jobMs + 0.2 * (now - slot.since);
    slot.since = now;
    if (reply.ok) job.resolve(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength));
    else job.reject(new Error(`the report PDF could not be rendered or its file written: ${reply.error}`));
    this.#next(slot);
  }

  #lost(slot: Slot, worker: Worker, error: Error): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    for (const job of slot.jobs.values())
      job.reject(new Error('a report PDF thread stopped while rendering', { cause: error }));
    slot.jobs.clear();
    if (!this.#stopped) this.#next(slot);
  }

  #next(slot: Slot): void {
    while (slot.jobs.size < this.#perThread) {
      const job = this.#queue.shift();
      if (job === undefined) break;
      this.#run(slot, job);
    }
    if (slot.jobs.size > 0) return;
    slot.worker?.unref();
    if (this.#slots.every((s) => s.jobs.size === 0)) this.#idle.idle();
  }

  /** Ends the threads of an idle pool; undefined when none runs. */
  #endIdle(): Promise<unknown> | undefined {
    if (this.#queue.length > 0 || this.#slots.some((s) => s.jobs.size > 0)) return undefined;
    return this.threads === 0 ? undefined : this.#endThreads();
  }

  /** Lets go of every slot's thread and resolves once they have all ended. */
  #endThreads(): Promise<unknown> {
    const workers: Worker[] = [];
    for (const slot of this.#slots) {
      if (slot.worker !== undefined) workers.push(slot.worker);
      slot.worker = undefined;
    }
    return Promise.all(workers.map((worker) => worker.terminate()));
  }
}
