// The console's dashboard (/api/dashboard): per channel its state, the last hour's received/filtered/sent/
// errored with a per-minute series for the chart, its queues (depth, oldest, state), and whether each listener is
// up. Every open console polls it, so one answer is computed at most every `cacheMs` and shared by all callers.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { ChannelEngine } from '../channels/engine.ts';
import { MinuteCounts, totals, type Counts } from '../channels/minute-counts.ts';
import { queueOverviews, type QueueOverview } from '../channels/queue-admin.ts';
import { staffReaders } from './staff.ts';

export interface ListenerState {
  name: string;
  up: boolean;
  detail?: string;
}

export interface DashboardOptions {
  engine: ChannelEngine;
  auth: Middleware;
  /** Listeners outside the channels (the DICOM SCP). */
  listeners?: () => Promise<ListenerState[]>;
  cacheMs?: number;
}

export interface Dashboard {
  generatedAt: Date;
  minutes: Date[];
  channels: Array<{
    id: string;
    name: string;
    status: string;
    revision: number;
    lastHour: Counts;
    series: Record<keyof Counts, number[]>;
    queues: QueueOverview[];
  }>;
  listeners: ListenerState[];
}

async function build(engine: ChannelEngine, counts: MinuteCounts, listeners: DashboardOptions['listeners']) {
  const [series, queues, extra] = await Promise.all([counts.refresh(), queueOverviews(engine), listeners?.() ?? []]);
  const zero = new Array<number>(series.minutes.length).fill(0);
  const channels: Dashboard['channels'] = [];
  for (const id of await engine.definitions.channelIds()) {
    const status = engine.channelStatus(id);
    const stored = status ? undefined : await engine.definitions.active(id).catch(() => null);
    const own = series.channels[id];
    channels.push({
      id,
      name: status?.name ?? stored?.definition.name ?? id,
      status: status?.status ?? 'undeployed',
      revision: status?.revision ?? stored?.revision ?? 0,
      lastHour: totals(own),
      series: own ?? { received: zero, filtered: zero, sent: zero, errored: zero },
      queues: queues.filter((q) => q.channelId === id),
    });
  }
  const sources = engine.channelStatuses().map((s) => ({
    name: `channel ${s.id}`,
    up: s.status === 'deployed',
    ...(s.error ? { detail: s.error } : {}),
  }));
  return { generatedAt: new Date(), minutes: series.minutes, channels, listeners: [...sources, ...extra] };
}

export function createDashboardRouter({ engine, auth, listeners, cacheMs = 2000 }: DashboardOptions): Router {
  const counts = new MinuteCounts(engine.messages);
  let cached: { at: number; answer: Promise<Dashboard> } | undefined;
  const router = new Router({ prefix: '/api/dashboard' });
  router.get('/', auth, staffReaders, async (ctx) => {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) {
      const answer = build(engine, counts, listeners);
      cached = { at: now, answer };
      // A failed build is not served to the next caller.
      answer.catch(() => {
        if (cached?.answer === answer) cached = undefined;
      });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await cached.answer;
  });
  return router;
}
