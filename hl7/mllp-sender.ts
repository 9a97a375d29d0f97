// The `mllp` destination as the engine sees it: an MllpDestination (mllp-destination.ts) running on the process's
// MLLP sender thread (mllp-sender-thread.ts). An ordered MLLP destination has one message in flight, and the next
// may go out only after the ACK of the previous one; on the engine's thread each of those round trips waited for
// a turn of an event loop that is busy receiving and storing, so delivery ran at about one message per turn:
// 1,200/s against 1,900/s received in `npm run bench -- hl7`. On the sender thread the ACK-to-next-send step does
// not wait for the engine, and a whole run of queued messages costs the engine one hand-over.
import type { DestinationConnector, DestinationContext, OutboundMessage, SendResult } from '../channels/connector.ts';
import type { MllpDestinationSettings } from './mllp-destination.ts';
import { type FromThread, type SenderEndpoint, type SenderIdentity, senderThread } from './mllp-sender-thread.ts';

interface Run {
  onResult(index: number, result: SendResult): void;
  /** How many results have come in; a run cut short by a crashed thread reports the next one as a retry. */
  reported: number;
  length: number;
  done(): void;
}

const stopTimeoutMs = 15_000;

export class MllpSender implements DestinationConnector, SenderEndpoint {
  readonly identity: SenderIdentity;
  readonly #context: DestinationContext;
  readonly #key: number;
  #stopped: Promise<void> | undefined;
  #closed: (() => void) | undefined;
  readonly #runs = new Map<number, Run>();
  #nextId = 1;

  constructor(settings: MllpDestinationSettings, context: DestinationContext) {
    this.identity = { settings, channelId: context.channelId, destinationName: context.destinationName };
    this.#context = context;
    this.#key = senderThread.attach(this);
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    // A run reports nothing for a message it did not attempt (a crashed thread reports a retry, see threadEnded).
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
    const id = this.#nextId++;
    return new Promise<void>((resolve) => {
      this.#runs.set(id, { onResult, reported: 0, length: messages.length, done: resolve });
      senderThread.post(this.#key, { kind: 'send', key: this.#key, id, messages });
    });
  }

  stopping(): void {
    senderThread.postIfOpen(this.#key, { kind: 'stopping', key: this.#key });
  }

  async stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    if (senderThread.isOpen(this.#key)) {
      // The thread finishes this destination's run in hand (its ACK waits are bounded by ackTimeoutMs), closes its
      // connection and says so; one that does not within the time is left to the thread's end.
      const closed = new Promise<void>((resolve) => (this.#closed = resolve));
      senderThread.postIfOpen(this.#key, { kind: 'close', key: this.#key });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, stopTimeoutMs)))]);
      clearTimeout(timer);
    }
    senderThread.detach(this.#key);
    this.threadEnded();
  }

  received(message: FromThread): void {
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
      case 'closed':
        this.#closed?.();
        return;
    }
  }

  /** A thread that ended (crash, or stop) leaves this destination's runs unfinished: their next message is a retry. */
  threadEnded(): void {
    this.#closed?.();
    for (const [id, run] of this.#runs) {
      if (run.reported < run.length)
        run.onResult(run.reported, { status: 'retry', error: 'the MLLP sender thread ended' });
      run.done();
      this.#runs.delete(id);
    }
  }
}
