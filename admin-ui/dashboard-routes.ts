// The console's dashboard (/api/dashboard): per channel its state, the last hour's received/filtered/sent/
// errored with a per-minute series for the chart, its queues (depth, oldest, state), and whether each listener is
// up, and the DICOM listener's panel (associations, studies waiting for completion or delivery) when the hub has
// one. Every open console polls it, so one answer is computed at most every `cacheMs` and shared by all callers.
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

/** The DICOM listener's panel; its shape is dicom/listener-panel.ts's, which this floor does not import. */
export interface DicomPanel {
  open: Array<{ callingAe: string; openedAt: string; instances: number }>;
  today: Array<{ callingAe: string; associations: number; instances: number; lastAt: string }>;
  waitingForCompletion: Array<{
    studyInstanceUid: string;
    facility: string;
    examNumber?: string;
    instanceCount: number;
    lastReceivedAt: string;
    completeDueAt: string;
  }>;
  delivery: Array<{
    studyInstanceUid: string;
    facility: string;
    examNumber?: string;
    completedAt?: string;
    instanceCount: number;
    destinations: Array<{ destination: string; stored: number; failed: number }>;
  }>;
}

export interface DashboardOptions {
  engine: ChannelEngine;
  auth: Middleware;
  /** Listeners outside the channels (the DICOM SCP). */
  listeners?: () => Promise<ListenerState[]>;
  /** The DICOM listener's panel; undefined when the listener is off. */
  dicom?: () => Promise<DicomPanel | undefined>;
  /** The hub processes serving this installation (several with hub.workers or on one MongoDB). */
  processes?: () => Promise<HubProcessState[]>;
  cacheMs?: number;
}

/** One hub process as the dashboard shows it. */
export interface HubProcessState {
  instance: string;
  pid: number;
  worker: number | null;
  host: string;
  startedAt: string;
  uptimeSeconds: number;
  eventLoopLagMs: { p50: number; p99: number; max: number };
  leases: string[];
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
  dicom?: DicomPanel;
  processes: HubProcessState[];
}

async function build(
  engine: ChannelEngine,
  counts: MinuteCounts,
  { listeners, dicom, processes }: Pick<DashboardOptions, 'listeners' | 'dicom' | 'processes'>,
): Promise<Dashboard> {
  const [series, queues, extra, panel, running] = await Promise.all([
    counts.refresh(),
    queueOverviews(engine),
    listeners?.() ?? [],
    dicom?.(),
    processes?.() ?? [],
  ]);
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
  const answer: Dashboard = {
    generatedAt: new Date(),
    minutes: series.minutes,
    channels,
    listeners: [...sources, ...extra],
    processes: running.map(({ instance, pid, worker, host, startedAt, uptimeSeconds, eventLoopLagMs, leases }) => ({
      instance,
      pid,
      worker,
      host,
      startedAt,
      uptimeSeconds,
      eventLoopLagMs,
      leases,
    })),
  };
  if (panel) answer.dicom = panel;
  return answer;
}

export function createDashboardRouter({
  engine,
  auth,
  listeners,
  dicom,
  processes,
  cacheMs = 2000,
}: DashboardOptions): Router {
  const counts = new MinuteCounts(engine.messages);
  let cached: { at: number; answer: Promise<Dashboard> } | undefined;
  const router = new Router({ prefix: '/api/dashboard' });
  router.get('/', auth, staffReaders, async (ctx) => {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) {
      const answer = build(engine, counts, { listeners, dicom, processes });
      cached = { at: now, answer };
      // A failed build is not served to the next caller.
      answer.catch(() => {
        if (cached?.answer === answer) cached = undefined;
      });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await cached.answer;
  });
  // The DICOM panel alone, which the console polls beside the channels: a few bounded index reads.
  router.get('/dicom', auth, staffReaders, async (ctx) => {
    const panel = await dicom?.();
    ctx.set('Cache-Control', 'no-store');
    ctx.body = panel === undefined ? { enabled: false } : { enabled: true, ...panel };
  });
  return router;
}
