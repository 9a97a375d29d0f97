// Validation on a thread of its own. @medplum/core's validateResource is the largest CPU cost of a FHIR create
// (≈130 µs for a small ServiceRequest, a quarter of the hub's main-thread time in `npm run bench -- fhir`) and
// it is pure, so it runs on a worker thread (validation-worker.ts) with a copy of the resource: the event loop
// serves HTTP and the store meanwhile, and another core does the validating. Same function, same answers
// (test/fhir/validation-thread.test.ts compares them with the inline validator).
//
// The thread indexes the definitions itself (≈0.6 s, ≈300 MB, LIBRARIES.md), so the main thread never loads
// them. One thread per process is shared by every router, as the inline validator shares @medplum/core's
// module-global index. The thread keeps the process alive only while a validation is under way, and ends after
// `hub.threadIdleSeconds` without one (runtime/idle-thread.ts).
import { Worker } from 'node:worker_threads';
import type { Resource } from '@medplum/fhirtypes';
import { HttpError, type HttpIssue } from '../http/http-error.ts';
import { IdleEnd } from '../runtime/idle-thread.ts';
import { returnFreedMemory } from '../runtime/malloc-trim.ts';
import { jsonSourceOf, type ResourceValidator, type ValidResource } from './validator.ts';

export interface ValidationRequest {
  id: number;
  /** The resource, or `{ json }`: the text it was parsed from (validator.ts parseJsonBody). */
  value: unknown;
  json: string | undefined;
  expected: ReadonlyArray<Resource['resourceType']>;
  prefix: string | undefined;
}

export type ValidationReply =
  | { id: number; ok: true }
  | { id: number; ok: false; status: number; message: string; issues: readonly HttpIssue[] }
  | { id: number; ok: false; error: string };

interface Waiting {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class ValidationThread implements ResourceValidator {
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  /** Requests of this turn of the event loop, sent as one message (a message each way costs ≈5-10 µs). */
  #outgoing: ValidationRequest[] = [];
  readonly #idle = new IdleEnd(() => (this.#worker === undefined ? undefined : this.stop()));

  /** Whether the thread runs now (it starts with a validation and ends when idle). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Starts the thread and its indexing now instead of at the first validation. */
  start(): void {
    this.#thread();
    this.#idle.idle();
  }

  /** Ends the thread; validations still waiting fail. The next validate() starts a new one. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    this.#failAll(new Error('the validation thread was stopped'));
    await worker.terminate();
  }

  async validate<T extends Resource['resourceType']>(
    value: unknown,
    expected: readonly T[],
    prefix?: string,
  ): Promise<ValidResource<T>> {
    const worker = this.#thread();
    this.#idle.busy();
    const id = this.#next++;
    const done = new Promise<void>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    // Held while validations are under way, so an awaited answer keeps the process alive; idle, it never does.
    if (this.#waiting.size === 1) worker.ref();
    const json = jsonSourceOf(value);
    this.#outgoing.push(
      json === undefined ? { id, value, json, expected, prefix } : { id, value: undefined, json, expected, prefix },
    );
    if (this.#outgoing.length === 1) setImmediate(() => this.#send());
    await done;
    return value as ValidResource<T>;
  }

  #send(): void {
    const batch = this.#outgoing;
    this.#outgoing = [];
    if (batch.length === 0) return;
    try {
      this.#thread().postMessage(batch);
    } catch (error) {
      // Only parsed JSON comes here, which always copies; anything else is a caller's bug, not a client's.
      for (const request of batch)
        this.#settle({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(new URL('./validation-worker.ts', import.meta.url));
    let first = true;
    worker.on('message', (replies: ValidationReply[]) => {
      for (const reply of replies) this.#settle(reply);
      // Loading Medplum's core and indexing the definitions leaves ~40 MiB freed in glibc's arenas (bench:footprint).
      if (first) returnFreedMemory();
      first = false;
    });
    worker.on('error', (error) => this.#lost(worker, error));
    worker.on('exit', (code) => this.#lost(worker, new Error(`the validation thread exited (code ${code})`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #settle(reply: ValidationReply): void {
    const waiting = this.#waiting.get(reply.id);
    if (waiting === undefined) return;
    this.#waiting.delete(reply.id);
    if (this.#waiting.size === 0) {
      this.#worker?.unref();
      this.#idle.idle();
    }
    if (reply.ok) waiting.resolve();
    else if ('issues' in reply) waiting.reject(new HttpError(reply.status, reply.message, { issues: reply.issues }));
    else waiting.reject(new Error(`validation failed: ${reply.error}`));
  }

  /** A crashed thread fails what it held; the next validation starts a fresh one. */
  #lost(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#failAll(error);
  }

  #failAll(error: Error): void {
    this.#outgoing = [];
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
  }
}

let shared: ValidationThread | undefined;

/** The process's validation thread, created on first use (nothing starts on import). */
export function sharedValidationThread(): ValidationThread {
  shared ??= new ValidationThread();
  return shared;
}
