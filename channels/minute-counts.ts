// Messages per channel and minute over the last hour, for the console's dashboard: received, filtered, sent (a
// destination sent it) and errored (processing or a destination failed), by the minute the message arrived. A
// refresh reads only the messages of the last few minutes (whose deliveries may still change) and keeps the
// older minutes as counted, so a dashboard polled every few seconds costs a few minutes of messages, not an hour.
import type { MessageStates, MessageStore } from './message-store.ts';

export interface Counts {
  received: number;
  filtered: number;
  sent: number;
  errored: number;
}

export interface MinuteSeries {
  /** Start of each minute, oldest first (60 of them, the last is the current minute). */
  minutes: Date[];
  /** Per channel: each count per minute, aligned with `minutes`. */
  channels: Record<string, Record<keyof Counts, number[]>>;
}

const minuteMs = 60_000;
const windowMinutes = 60;
/** Minutes still recounted on each refresh: deliveries of recent messages may still end. */
const liveMinutes = 5;

const empty = (): Counts => ({ received: 0, filtered: 0, sent: 0, errored: 0 });

function add(counts: Counts, message: MessageStates): void {
  counts.received++;
  if (message.state === 'filtered') counts.filtered++;
  if (message.destinations?.some((d) => d.state === 'sent')) counts.sent++;
  if (message.state === 'error' || message.destinations?.some((d) => d.state === 'error')) counts.errored++;
}

export class MinuteCounts {
  readonly #store: MessageStore;
  /** minute start (ms) -> channel -> counts */
  readonly #buckets = new Map<number, Map<string, Counts>>();
  #frozenBefore = 0;

  constructor(store: MessageStore) {
    this.#store = store;
  }

  async refresh(now = Date.now()): Promise<MinuteSeries> {
    const current = Math.floor(now / minuteMs) * minuteMs;
    const windowStart = current - (windowMinutes - 1) * minuteMs;
    const from = Math.max(windowStart, this.#frozenBefore);
    const messages = await this.#store.statesSince(new Date(from));
    for (const minute of [...this.#buckets.keys()])
      if (minute >= from || minute < windowStart) this.#buckets.delete(minute);
    for (const message of messages) {
      const minute = Math.floor(message.receivedAt.getTime() / minuteMs) * minuteMs;
      const channels = this.#buckets.get(minute) ?? new Map<string, Counts>();
      this.#buckets.set(minute, channels);
      const counts = channels.get(message.channelId) ?? empty();
      channels.set(message.channelId, counts);
      add(counts, message);
    }
    this.#frozenBefore = current - (liveMinutes - 1) * minuteMs;
    return this.#series(windowStart);
  }

  #series(windowStart: number): MinuteSeries {
    const minutes = Array.from({ length: windowMinutes }, (_, i) => windowStart + i * minuteMs);
    const channels: MinuteSeries['channels'] = {};
    minutes.forEach((minute, i) => {
      for (const [channelId, counts] of this.#buckets.get(minute) ?? []) {
        const series = channels[channelId] ?? {
          received: new Array<number>(windowMinutes).fill(0),
          filtered: new Array<number>(windowMinutes).fill(0),
          sent: new Array<number>(windowMinutes).fill(0),
          errored: new Array<number>(windowMinutes).fill(0),
        };
        channels[channelId] = series;
        for (const key of ['received', 'filtered', 'sent', 'errored'] as const) series[key][i] = counts[key];
      }
    });
    return { minutes: minutes.map((m) => new Date(m)), channels };
  }
}

/** The hour's totals of one channel's series. */
export function totals(series: Record<keyof Counts, number[]> | undefined): Counts {
  const sum = (values: number[] | undefined): number => (values ?? []).reduce((a, b) => a + b, 0);
  return {
    received: sum(series?.received),
    filtered: sum(series?.filtered),
    sent: sum(series?.sent),
    errored: sum(series?.errored),
  };
}
