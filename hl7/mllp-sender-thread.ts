// The one thread a hub process sends MLLP on, shared by every `mllp` destination of every channel. A thread of
// its own per destination cost each one ≈100 MiB: node-hl7-client's bundle (4 MB of tables) is loaded once per
// thread (`npm run bench -- footprint`, issue 16). Each destination still runs its messages in order and waits
// for its own ACKs; destinations run side by side on the thread's event loop, as they are all waiting on sockets.
// The thread starts with the first destination that sends, ends when the last one has stopped, and is started
// again after a crash: what each destination was sending then is reported as a retry (MllpSender). With no run
// in hand for `hub.threadIdleSeconds` it ends too, closing the destinations' connections, as an MLLP sender that
// keeps its connection open closes it after an idle time; the next run starts it and connects again.
import { Worker } from 'node:worker_threads';
import type { OutboundMessage, SendResult } from '../channels/connector.ts';
import { IdleEnd } from '../runtime/idle-thread.ts';
import type { LogFields, LogLevel } from '../runtime/log.ts';
import type { MllpDestinationSettings } from './mllp-destination.ts';

/** Who a destination is, for its MllpDestination on the thread and for the lines it logs. */
export interface SenderIdentity {
  settings: MllpDestinationSettings;
  channelId: string;
  destinationName: string;
}

export type ToThread =
  | ({ kind: 'open'; key: number } & SenderIdentity)
  | { kind: 'send'; key: number; id: number; messages: OutboundMessage[] }
  | { kind: 'stopping'; key: number }
  | { kind: 'close'; key: number };

export type FromThread =
  | { kind: 'result'; key: number; id: number; index: number; result: SendResult }
  | { kind: 'done'; key: number; id: number }
  | { kind: 'log'; key: number; level: LogLevel; msg: string; fields: LogFields; phi?: LogFields }
  | { kind: 'closed'; key: number };

/** What the thread tells one destination. */
export interface SenderEndpoint {
  readonly identity: SenderIdentity;
  received(message: FromThread): void;
  /** The thread ended (crash): runs in hand are over. */
  threadEnded(): void;
}

class SenderThread {
  #worker: Worker | undefined;
  readonly #endpoints = new Map<number, SenderEndpoint>();
  /** Keys opened on the current worker; a new worker opens each again on its first message. */
  readonly #opened = new Set<number>();
  #nextKey = 1;
  /** Runs posted and not yet done, over all destinations. */
  #running = 0;
  readonly #idle = new IdleEnd(() => (this.#running > 0 ? undefined : this.#end()));

  attach(endpoint: SenderEndpoint): number {
    const key = this.#nextKey++;
    this.#endpoints.set(key, endpoint);
    return key;
  }

  /** Posts to the thread, starting it and opening the destination there first if needed. */
  post(key: number, message: ToThread): void {
    const endpoint = this.#endpoints.get(key);
    if (endpoint === undefined) return;
    const worker = this.#workerNow();
    if (!this.#opened.has(key)) {
      worker.postMessage({ kind: 'open', key, ...endpoint.identity } satisfies ToThread);
      this.#opened.add(key);
    }
    if (message.kind === 'send') {
      this.#running++;
      this.#idle.busy();
    }
    worker.postMessage(message);
  }

  /** Posts only if the thread runs this destination already (a `stopping` for a thread that is not there). */
  postIfOpen(key: number, message: ToThread): void {
    if (this.#worker !== undefined && this.#opened.has(key)) this.#worker.postMessage(message);
  }

  isOpen(key: number): boolean {
    return this.#worker !== undefined && this.#opened.has(key);
  }

  /** The destination is gone: the thread ends with the last one. */
  detach(key: number): void {
    this.#endpoints.delete(key);
    this.#opened.delete(key);
    if (this.#endpoints.size === 0) {
      this.#idle.busy();
      void this.#end();
    }
  }

  /** Ends the thread (its destinations' connections close); undefined when none runs. */
  #end(): Promise<number> | undefined {
    // The exit handler ignores a worker that is no longer current, so the destinations hear of the end here: one
    // that is stopping has posted a `close` that will now never be answered, and must not wait for it.
    return this.#forget()?.terminate();
  }

  /** Lets go of the current thread, whatever ended it, and tells every destination; returns it if there was one. */
  #forget(): Worker | undefined {
    const worker = this.#worker;
    if (worker === undefined) return undefined;
    this.#worker = undefined;
    this.#opened.clear();
    this.#running = 0;
    for (const endpoint of this.#endpoints.values()) endpoint.threadEnded();
    return worker;
  }

  /** Live sender threads in this process (0 or 1), for tests and /metrics. */
  get threads(): number {
    return this.#worker === undefined ? 0 : 1;
  }

  #workerNow(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(new URL('./mllp-sender-worker.ts', import.meta.url));
    worker.on('message', (message: FromThread) => {
      if (message.kind === 'done' && this.#worker === worker && --this.#running === 0) this.#idle.idle();
      this.#endpoints.get(message.key)?.received(message);
    });
    worker.on('error', (error) => {
      for (const endpoint of this.#endpoints.values())
        endpoint.received({
          kind: 'log',
          key: 0,
          level: 'error',
          msg: 'MLLP sender thread failed',
          fields: { error: error.message },
        });
    });
    worker.on('exit', () => {
      if (this.#worker === worker) this.#forget();
    });
    this.#worker = worker;
    return worker;
  }
}

export const senderThread = new SenderThread();
