// The dashboard's messages-per-minute series: filled once from the messages of the last half hour (one page of
// the message search), then kept current from the growth of the channels' received counts at each poll, so the
// live part costs the hub nothing beyond the poll it answers anyway.
import { get, query } from '../api/client.ts';
import type { ChannelOverview, Page, MessageSummary } from '../api/types.ts';
import type { Throughput } from '../ui/ThroughputChart.tsx';

const windowMinutes = 30;

export class ThroughputSeries {
  readonly #counts = new Map<number, number>();
  #lastTotal: number | undefined;

  static minuteOf(time: number): number {
    return Math.floor(time / 60_000) * 60;
  }

  async backfill(now = Date.now()): Promise<void> {
    const from = new Date(now - windowMinutes * 60_000).toISOString();
    const page = await get<Page<MessageSummary> | MessageSummary[]>(
      `/api/messages${query({ receivedFrom: from, limit: 500 })}`,
    );
    const items = Array.isArray(page) ? page : page.items;
    for (const message of items) this.#add(ThroughputSeries.minuteOf(new Date(message.receivedAt).getTime()), 1);
  }

  /** Adds what the channels received since the previous poll to the current minute. */
  observe(channels: readonly ChannelOverview[], now = Date.now()): void {
    const total = channels.reduce((sum, c) => sum + c.received, 0);
    if (this.#lastTotal !== undefined && total > this.#lastTotal)
      this.#add(ThroughputSeries.minuteOf(now), total - this.#lastTotal);
    this.#lastTotal = total;
  }

  series(now = Date.now()): Throughput {
    const last = ThroughputSeries.minuteOf(now);
    const minutes: number[] = [];
    const counts: number[] = [];
    for (let m = last - (windowMinutes - 1) * 60; m <= last; m += 60) {
      minutes.push(m);
      counts.push(this.#counts.get(m) ?? 0);
    }
    return { minutes, counts };
  }

  #add(minute: number, count: number): void {
    this.#counts.set(minute, (this.#counts.get(minute) ?? 0) + count);
  }
}
