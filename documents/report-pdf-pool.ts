// Report PDFs rendered on worker threads (report-pdf-worker.ts), so a render never holds the event loop that
// serves HTTP, MLLP and DICOM: pdfkit is synchronous JavaScript, a few milliseconds a report and far more for a
// long one with an embedded font. Each thread renders one report at a time; renders beyond the threads wait in a
// bounded queue, and one more is refused with a BusyError (503 + Retry-After over HTTP, a retry for a channel)
// rather than letting a burst of signings pile up memory and latency without limit. A thread that dies fails
// only the render it held and is replaced at the next render. The threads start with the first render and end
// after `hub.threadIdleSeconds` without one (runtime/idle-thread.ts).
import { Worker } from 'node:worker_threads';
import { BusyError } from '../runtime/busy.ts';
import { IdleEnd } from '../runtime/idle-thread.ts';
import type { ReportPdfInput } from './report-pdf.ts';

export interface ReportPdfPoolOptions {
  /** Threads rendering at once (config `reports.pdfThreads`). */
  threads: number;
  /** Renders that may wait for a thread; one more is refused (config `reports.pdfMaxQueued`). */
  maxQueued: number;
}

export type PdfReply = { ok: true; bytes: Uint8Array } | { ok: false; error: string };

interface Job {
  input: ReportPdfInput;
  resolve: (bytes: Buffer) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  job: Job | undefined;
  started: number;
}

export class ReportPdfPool {
  readonly #options: ReportPdfPoolOptions;
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  /** Recent render time in ms (moving average), for Retry-After. */
  #renderMs = 20;
  #stopped = false;
  readonly #idle = new IdleEnd(() => this.#endIdle());

  constructor(options: ReportPdfPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError('threads: at least 1');
    if (!Number.isInteger(options.maxQueued) || options.maxQueued < 0) throw new RangeError('maxQueued: 0 or more');
    this.#options = options;
    this.#slots = Array.from({ length: options.threads }, () => ({ worker: undefined, job: undefined, started: 0 }));
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

  /** Renders waiting for a thread, and renders under way. */
  get load(): { queued: number; rendering: number } {
    return { queued: this.#queue.length, rendering: this.#slots.filter((s) => s.job !== undefined).length };
  }

  /** The renderer the report service takes (exams/report-render.ts ReportRenderer). */
  readonly render = (input: ReportPdfInput): Promise<Buffer> => {
    if (this.#stopped) return Promise.reject(new Error('the report PDF threads are stopped'));
    this.#idle.busy();
    const idle = this.#slots.find((slot) => slot.job === undefined);
    if (idle === undefined && this.#queue.length >= this.#options.maxQueued) {
      const waiting = this.#queue.length + this.#slots.length;
      const seconds = (waiting * this.#renderMs) / this.#slots.length / 1000;
      return Promise.reject(
        new BusyError(`the report PDF renderer is busy (${waiting} renders ahead); try again shortly`, seconds),
      );
    }
    return new Promise<Buffer>((resolve, reject) => {
      const job = { input, resolve, reject };
      if (idle !== undefined) this.#run(idle, job);
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
      slot.job?.reject(stopped);
      slot.job = undefined;
    }
    await this.#endThreads();
  }

  #run(slot: Slot, job: Job): void {
    const worker = this.#thread(slot);
    slot.job = job;
    slot.started = performance.now();
    // Held only while it renders: an idle pool never keeps the process alive.
    worker.ref();
    worker.postMessage(job.input);
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
    if (slot.worker !== worker || slot.job === undefined) return;
    const job = slot.job;
    slot.job = undefined;
    this.#renderMs = 0.8 * this.#renderMs + 0.2 * (performance.now() - slot.started);
    if (reply.ok) job.resolve(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength));
    else job.reject(new Error(`the report PDF could not be rendered: ${reply.error}`));
    this.#next(slot);
  }

  #lost(slot: Slot, worker: Worker, error: Error): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const job = slot.job;
    slot.job = undefined;
    job?.reject(new Error('a report PDF thread stopped while rendering', { cause: error }));
    if (!this.#stopped) this.#next(slot);
  }

  #next(slot: Slot): void {
    const job = this.#queue.shift();
    if (job !== undefined) {
      this.#run(slot, job);
      return;
    }
    slot.worker?.unref();
    if (this.#slots.every((s) => s.job === undefined)) this.#idle.idle();
  }

  /** Ends the threads of an idle pool; undefined when none runs. */
  #endIdle(): Promise<unknown> | undefined {
    if (this.#queue.length > 0 || this.#slots.some((s) => s.job !== undefined)) return undefined;
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
