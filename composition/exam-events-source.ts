// A channel source that reads the exam domain's event log (exams/outbox.ts): each event of the wanted types
// becomes a JSON message in the channel, so routes (studies to the radiologist PACS, reports to the facility)
// are ordinary channels with filters, maps, destinations and durable queues. The subscription cursor moves only
// past events the engine has stored, so a crash re-reads, never skips (at-least-once, like the outbox itself).
// It lives in composition/ because it joins two parts that must not know each other: channels/ knows no exams and
// exams/ knows no channels.
import type { SourceConnector, SourceConnectorType, SourceContext } from '../channels/connector.ts';
import { examEventTypes, type ExamEvent, type ExamEventType } from '../exams/outbox.ts';
import type { ExamService } from '../exams/service.ts';
import { errorText } from '../runtime/log.ts';
import {
  expectArray,
  expectInteger,
  expectKeys,
  expectObject,
  expectOneOf,
  join,
  optionalString,
} from '../runtime/validate.ts';

export interface ExamEventsSettings {
  /** The cursor's name; default `channel:<channel id>`, so each channel reads every event once. */
  subscription?: string;
  /** Event types to take; others are passed over (and acknowledged). Default: all. */
  types?: ExamEventType[];
  pollMs: number;
  batchSize: number;
}

function parseSettings(input: unknown, path: string): ExamEventsSettings {
  const settings = expectObject(input ?? {}, path);
  expectKeys(settings, path, ['subscription', 'types', 'pollMs', 'batchSize']);
  const types =
    settings['types'] === undefined
      ? undefined
      : expectArray(settings['types'], join(path, 'types')).map((t, i) =>
          expectOneOf(t, join(join(path, 'types'), i), examEventTypes),
        );
  const subscription = optionalString(settings['subscription'], join(path, 'subscription'));
  return {
    ...(subscription ? { subscription } : {}),
    ...(types ? { types } : {}),
    pollMs: expectInteger(settings['pollMs'] ?? 250, join(path, 'pollMs'), 10, 60_000),
    batchSize: expectInteger(settings['batchSize'] ?? 100, join(path, 'batchSize'), 1, 1_000),
  };
}

class ExamEventsSource implements SourceConnector {
  readonly #exams: ExamService;
  readonly #settings: ExamEventsSettings;
  readonly #context: SourceContext;
  #running: Promise<void> | undefined;
  #stopped = true;
  #wake: (() => void) | undefined;

  constructor(exams: ExamService, settings: ExamEventsSettings, context: SourceContext) {
    this.#exams = exams;
    this.#settings = settings;
    this.#context = context;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const subscription = this.#exams.outbox.subscription(
      this.#settings.subscription ?? `channel:${this.#context.channelId}`,
    );
    while (!this.#stopped) {
      let taken = 0;
      try {
        taken = await this.#takeBatch(subscription);
      } catch (error) {
        this.#context.log.error('reading exam events failed', { error: errorText(error) });
      }
      if (taken < this.#settings.batchSize) await this.#sleep(this.#settings.pollMs);
    }
  }

  /**
   * Hands one batch to the engine, stored together (receiveMany: one commit for the batch where one per event
   * made this source the slowest step between a signed report and its delivery); returns how many events it
   * moved past. The cursor stops before the first event whose message could not be stored; the engine queues
   * nothing from that event on, so the next round sends them in their order, not the later ones first.
   */
  async #takeBatch(subscription: ReturnType<ExamService['outbox']['subscription']>): Promise<number> {
    const events = await subscription.pull(this.#settings.batchSize);
    if (this.#stopped) return 0;
    const wanted = events.filter((event) => this.#wanted(event));
    const outcomes = await this.#context.receiveMany(
      wanted.map((event) => ({
        raw: JSON.stringify(event),
        dataType: 'json',
        source: { subscription: subscription.name },
        index: indexOf(event),
      })),
    );
    let done: number | undefined;
    let count = 0;
    let next = 0;
    for (const event of events) {
      if (this.#wanted(event)) {
        const outcome = outcomes[next++]!;
        if (outcome.status === 'error' && outcome.messageId === undefined) break;
      }
      done = event.seq;
      count++;
    }
    if (done !== undefined) await subscription.ack(done);
    return count;
  }

  #wanted(event: ExamEvent): boolean {
    return this.#settings.types === undefined || this.#settings.types.includes(event.type);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function indexOf(event: ExamEvent) {
  return {
    messageType: event.type,
    ...(event.examNumber ? { orderNumber: event.examNumber } : {}),
    ...(event.patientId ? { patientId: event.patientId } : {}),
  };
}

export function examEventsSourceType(exams: ExamService): SourceConnectorType<ExamEventsSettings> {
  return {
    type: 'exam-events',
    oneProcessAtATime: true,
    parseSettings,
    create: (settings, context) => new ExamEventsSource(exams, settings, context),
  };
}
