// The `mllp` destination as the engine sees it: an MllpDestination (mllp-destination.ts) running on a worker thread
// of its own. An ordered MLLP destination has one message in flight, and the next may go out only after the
// ACK of the previous one; on the engine's thread each of those round trips waited for a turn of an event loop
// that is busy receiving and storing, so delivery ran at about one message per turn: 1,200/s against 1,900/s
// received in `npm run bench -- hl7`. On its own thread the ACK-to-next-send step does not wait for the engine,
// and a whole run of queued messages costs the engine one hand-over. The thread is started on first use and
// restarted after a crash; what it was sending then is reported as a retry.
import { Worker } from 'node:worker_threads';
import type { DestinationConnector, DestinationContext, OutboundMessage, SendResult } from '../channels/connector.ts';
import type { LogFields, LogLevel } from '../runtime/log.ts';
import type { MllpDestinationSettings } from './mllp-destination.ts';

export type ToSender =
  | { kind: 'send'; id: number; messages: OutboundMessage[] }
  | { kind: 'stopping' }
  | { kind: 'stop' };

export type FromSender =
  | { kind: 'result'; id: number; index: number; result: SendResult }
  | { kind: 'done'; id: number }
  | { kind: 'log'; level: LogLevel; msg: string; fields: LogFields; phi?: LogFields }
  | { kind: 'stopped' };

interface Run {
  onResult(index: number, result: SendResult): void;
  /** How many results have come in; a run cut short by a crashed thread reports the next one as a retry. */
  reported: number;
  length: number;
  done(): void;
}

const stopTimeoutMs = 15_000;

export class MllpSender implements DestinationConnector {
  readonly #settings: MllpDestinationSettings;
  readonly #context: DestinationContext;
  #worker: Worker | undefined;
  #stopped: Promise<void> | undefined;
  readonly #runs = new Map<number, Run>();
  #nextId = 1;

  constructor(settings: MllpDestinationSettings, context: DestinationContext) {
    this.#settings = settings;
    this.#context = context;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    // A run reports nothing for a message it did not attempt (a crashed thread reports a retry, see #exited).
    let only: SendResult = { status: 'not-sent', error: 'the MLLP destination is stopping' };
    await this.sendSequence([message], (_index, result) => (only = result));
    return only;
  }

  sendSequence(messages: OutboundMessage[], onResult: (index: number, result: SendResult) => void): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.#stopped !== undefined) {
      onResult(0, { status: 'not-sent', error: 'the MLLP destination is stopping' });
      return Promise.resolve();
    }
    const worker = this.#workerFor();
    const id = this.#nextId++;
    return new Promise<void>((resolve) => {
      this.#runs.set(id, { onResult, reported: 0, length: messages.length, done: resolve });
      worker.postMessage({ kind: 'send', id, messages } satisfies ToSender);
    });
  }

  stopping(): void {
    this.#worker?.postMessage({ kind: 'stopping' } satisfies ToSender);
  }

  async stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    // The thread finishes the run in hand (its ACK waits are bounded by ackTimeoutMs), closes its connection and
    // says so; a thread that does not is ended.
    const stopped = new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (message: FromSender) => {
        if (message.kind === 'stopped') resolve();
      });
    });
    worker.postMessage({ kind: 'stop' } satisfies ToSender);
    const timer = setTimeout(() => void worker.terminate(), stopTimeoutMs);
    await stopped;
    clearTimeout(timer);
    await worker.terminate();
  }

  #workerFor(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const { channelId, destinationName } = this.#context;
    const worker = new Worker(new URL('./mllp-sender-worker.ts', import.meta.url), {
      workerData: { settings: this.#settings, channelId, destinationName },
    });
    worker.on('message', (message: FromSender) => this.#received(message));
    worker.on('error', (error) => this.#context.log.error('MLLP sender thread failed', { error: error.message }));
    worker.on('exit', () => this.#exited(worker));
    this.#worker = worker;
    return worker;
  }

  #received(message: FromSender): void {
    switch (message.kind) {
      case 'result': {
        const run = this.#runs.get(message.id);
        if (run === undefined) return;
        run.reported = message.index + 1;
        run.onResult(message.index, message.result);
        return;
      }
      case 'done':
        this.#runs.get(message.id)?.done();
        this.#runs.delete(message.id);
        return;
      case 'log':
        this.#context.log[message.level](message.msg, message.fields, message.phi);
        return;
      case 'stopped':
        return;
    }
  }

  /** A thread that ended (crash, or stop) leaves its runs unfinished: their next message is a retry. */
  #exited(worker: Worker): void {
    if (this.#worker === worker) this.#worker = undefined;
    for (const [id, run] of this.#runs) {
      if (run.reported < run.length)
        run.onResult(run.reported, { status: 'retry', error: 'the MLLP sender thread ended' });
      run.done();
      this.#runs.delete(id);
    }
  }
}
