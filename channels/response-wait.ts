// A channel that answers its sender after a named destination (ResponseMode `afterDestination`) waits here for
// that destination's first word on the message: sent, failed for good, or queued for a retry. One listener set
// per waiting channel, attached only while someone waits, so a busy source does not pile listeners on the
// engine's emitter. Events are this process's: a delivery made by another process is read from the store
// when the wait times out (DeliveryWaits' caller does that).
import type { EventEmitter } from 'node:events';
import type { DeliveryEvent, EngineEvents } from './engine-events.ts';

export type DeliveryWord = { state: 'sent' } | { state: 'error'; error: string } | { state: 'queued'; error: string };

export interface PendingWait {
  /** The destination's word, or undefined when the wait timed out or was cancelled. */
  settled: Promise<DeliveryWord | undefined>;
  cancel(): void;
}

export class DeliveryWaits {
  readonly #events: EventEmitter<EngineEvents>;
  readonly #channelId: string;
  readonly #destination: string;
  readonly #waiting = new Map<string, (word: DeliveryWord | undefined) => void>();
  readonly #onSent = (event: Omit<DeliveryEvent, 'error'>): void => this.#heard(event, { state: 'sent' });
  readonly #onError = (event: DeliveryEvent): void => this.#heard(event, { state: 'error', error: event.error });
  readonly #onRetry = (event: DeliveryEvent): void => this.#heard(event, { state: 'queued', error: event.error });

  constructor(events: EventEmitter<EngineEvents>, channelId: string, destination: string) {
    this.#events = events;
    this.#channelId = channelId;
    this.#destination = destination;
  }

  /** Starts listening for the message's delivery; call before the message is stored, so no event is missed. */
  wait(messageId: string, timeoutMs: number): PendingWait {
    if (this.#waiting.size === 0) this.#listen(true);
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<DeliveryWord | undefined>((resolve) => {
      this.#waiting.set(messageId, resolve);
      timer = setTimeout(() => this.#settle(messageId, undefined), timeoutMs);
    });
    return {
      settled: settled.finally(() => clearTimeout(timer)),
      cancel: () => this.#settle(messageId, undefined),
    };
  }

  #heard(event: Omit<DeliveryEvent, 'error'>, word: DeliveryWord): void {
    if (event.channelId !== this.#channelId || event.destination !== this.#destination) return;
    this.#settle(event.messageId, word);
  }

  #settle(messageId: string, word: DeliveryWord | undefined): void {
    const resolve = this.#waiting.get(messageId);
    if (!resolve) return;
    this.#waiting.delete(messageId);
    if (this.#waiting.size === 0) this.#listen(false);
    resolve(word);
  }

  #listen(on: boolean): void {
    const method = on ? 'on' : 'off';
    this.#events[method]('delivery-sent', this.#onSent);
    this.#events[method]('delivery-error', this.#onError);
    this.#events[method]('delivery-retry', this.#onRetry);
  }
}
