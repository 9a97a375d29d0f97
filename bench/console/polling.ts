// What the dashboard's polling costs the hub's event loop while HL7 traffic runs (issue 14's second goal: under
// 1 %). The hub reports its loop's busy and idle time as counters on /metrics (perf_hooks eventLoopUtilization),
// so the loop's utilisation over a round is Δactive ÷ (Δactive + Δidle), read from outside with two scrapes.
// A poll every 5 s is small against a loop busy for seconds, below the noise between two traffic rounds on a
// shared machine; so besides rounds with the dashboard's own rate, rounds poll 10 times as often, and
// the cost per poll under load is their extra busy time (over what the same number of messages cost in the
// round without a console) divided by their polls. Modes rotate from round to round; medians are reported.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { api, type HubProcess } from '../../test/support/hub-process.ts';

/** The dashboard asks these every 5 s (admin-ui/app Dashboard.tsx, DicomPanel.tsx). */
export const dashboardPaths = ['/api/channels', '/api/dashboard/dicom'] as const;
export const dashboardEveryMs = 5_000;
const amplifiedEveryMs = 500;
const idlePolls = 200;
const afterPolls = 20;

interface LoopReading {
  activeMs: number;
  idleMs: number;
}

export interface Round {
  mode: Mode;
  utilisation: number;
  activeMs: number;
  wallMs: number;
  messages: number;
  perSecond: number;
  polls: number;
}

type Mode = 'none' | 'dashboard' | 'amplified';
const modes: readonly Mode[] = ['none', 'dashboard', 'amplified'];
const everyMs: Record<Mode, number | undefined> = {
  none: undefined,
  dashboard: dashboardEveryMs,
  amplified: amplifiedEveryMs,
};

export interface PollingResult {
  idle: { perPollMs: number; utilisation: number };
  /** The same idle measurement after the rounds, with the relay channel holding their messages. */
  after: { perPollMs: number; relayMessages: number };
  rounds: Round[];
  /** Per round, the amplified round's extra busy time per poll (ms). */
  perPollUnderLoadMs: number[];
  /** Per round, the same estimate from the dashboard round (few polls, so noisier). */
  perPollDashboardMs: number[];
  /** Per round, the dashboard round's utilisation minus the no-console round's (fraction of the loop). */
  dashboardMinusNone: number[];
}

async function loopReading(hub: HubProcess): Promise<LoopReading> {
  const text = await (await api(hub, '/metrics')).text();
  const read = (name: string): number => {
    const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
    if (value === undefined) throw new Error(`/metrics has no ${name}`);
    return Number(value) * 1000;
  };
  return {
    activeMs: read('nodejs_eventloop_active_seconds_total'),
    idleMs: read('nodejs_eventloop_idle_seconds_total'),
  };
}

function between(a: LoopReading, b: LoopReading): { activeMs: number; utilisation: number } {
  const activeMs = b.activeMs - a.activeMs;
  return { activeMs, utilisation: activeMs / (activeMs + b.idleMs - a.idleMs) };
}

async function poll(hub: HubProcess): Promise<void> {
  await Promise.all(dashboardPaths.map(async (p) => (await api(hub, p)).arrayBuffer()));
}

/** Polls at `every` ms, as useLoad's timer does, but never two at once (a slow answer delays the next). */
function poller(hub: HubProcess, every: number | undefined): { stop(): Promise<number> } {
  if (every === undefined) return { stop: async () => 0 };
  let polls = 0;
  let current: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (current) return;
    current = poll(hub).then(() => {
      polls++;
      current = undefined;
    });
  }, every);
  return {
    stop: async () => {
      clearInterval(timer);
      await current;
      return polls;
    },
  };
}

async function traffic(inPort: number, messages: number, prefix: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [path.join(import.meta.dirname, '..', 'hl7', 'sender-child.ts'), String(inPort), '4', String(messages), prefix],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the HL7 sender exited with ${code}`);
  return (JSON.parse(out) as { perSecond: number }).perSecond;
}

async function round(hub: HubProcess, inPort: number, mode: Mode, messages: number, prefix: string): Promise<Round> {
  const before = await loopReading(hub);
  const t0 = performance.now();
  const polling = poller(hub, everyMs[mode]);
  const perSecond = await traffic(inPort, messages, prefix);
  const polls = await polling.stop();
  const wallMs = performance.now() - t0;
  const { activeMs, utilisation } = between(before, await loopReading(hub));
  return { mode, utilisation, activeMs, wallMs, messages, perSecond, polls };
}

export async function measurePolling(
  hub: HubProcess,
  inPort: number,
  options: { rounds: number; messages: number },
): Promise<PollingResult> {
  const start = await loopReading(hub);
  for (let i = 0; i < idlePolls; i++) await poll(hub);
  const idle = between(start, await loopReading(hub));

  const rounds: Round[] = [];
  const perPollUnderLoadMs: number[] = [];
  const perPollDashboardMs: number[] = [];
  const dashboardMinusNone: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const order = modes.map((_, i) => modes[(i + r) % modes.length]!);
    const done = new Map<Mode, Round>();
    for (const mode of order) {
      const result = await round(hub, inPort, mode, options.messages, `${mode[0]!.toUpperCase()}${r}`);
      console.log(
        `round ${r + 1} ${mode}: loop ${(result.utilisation * 100).toFixed(1)} %, ${result.polls} polls, ${result.perSecond.toFixed(0)} msg/s`,
      );
      done.set(mode, result);
      rounds.push(result);
    }
    const none = done.get('none')!;
    const amplified = done.get('amplified')!;
    const dashboard = done.get('dashboard')!;
    const perMessage = none.activeMs / none.messages;
    const extraPerPoll = (r: Round) => (r.activeMs - r.messages * perMessage) / Math.max(1, r.polls);
    perPollUnderLoadMs.push(extraPerPoll(amplified));
    perPollDashboardMs.push(extraPerPoll(dashboard));
    dashboardMinusNone.push(dashboard.utilisation - none.utilisation);
  }
  const afterStart = await loopReading(hub);
  for (let i = 0; i < afterPolls; i++) await poll(hub);
  const after = between(afterStart, await loopReading(hub));
  const stored = (await (await api(hub, '/api/messages?channelId=relay&limit=1')).json()) as { total: number };
  return {
    idle: { perPollMs: idle.activeMs / idlePolls, utilisation: idle.utilisation },
    after: { perPollMs: after.activeMs / afterPolls, relayMessages: stored.total },
    rounds,
    perPollUnderLoadMs,
    perPollDashboardMs,
    dashboardMinusNone,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The BENCHMARKS.md paragraph and table. */
export function pollingText(
  result: PollingResult,
  options: { rounds: number; messages: number },
  load: string,
): string {
  const pct = (v: number, digits = 2) => `${(v * 100).toFixed(digits)} %`;
  const ms = (v: number) => v.toFixed(2);
  const byMode = (mode: Mode) => result.rounds.filter((r) => r.mode === mode);
  const row = (mode: Mode, label: string) => {
    const of = byMode(mode);
    return `| ${label} | ${pct(median(of.map((r) => r.utilisation)), 1)} | ${median(of.map((r) => r.perSecond)).toFixed(0)} | ${median(of.map((r) => r.polls))} | ${ms(median(of.map((r) => r.activeMs / r.messages)))} |`;
  };
  const perPoll = median(result.perPollUnderLoadMs);
  // Under load a poll's extra busy time can come out below zero (the noise between rounds is larger than a poll):
  // the verdict then rests on the larger of that estimate and a poll's cost on the idle hub holding the rounds'
  // messages, never on a negative figure.
  const counted = Math.max(perPoll, result.after.perPollMs);
  const share = counted / dashboardEveryMs;
  const goal = share < 0.01 ? 'goal met' : 'goal NOT met';
  const basis =
    perPoll >= result.after.perPollMs
      ? ''
      : ` (from the ${ms(result.after.perPollMs)} ms a poll costs the idle hub after the rounds, which is larger than the under-load estimate${perPoll < 0 ? ': that one is below the noise between rounds' : ''})`;
  const direct = median(result.dashboardMinusNone);
  const fromDashboard = median(result.perPollDashboardMs);
  const why =
    direct < share / 2
      ? 'smaller, because a slow poll also slows the senders, who wait for their ACKs, so the busy time it adds is spread over a longer round; loop time per message is the steadier figure.'
      : 'in line with the per-poll figure.';
  const growth =
    result.after.perPollMs > 10 * result.idle.perPollMs
      ? ' A poll still costs much more after the rounds than on an empty channel: something it reads grows with the stored messages.'
      : ` A poll costs ${ms(result.after.perPollMs)} ms with the rounds' messages stored against ${ms(result.idle.perPollMs)} ms on an empty channel: what still grows is the channel's received count, index entries counted by SQLite (about 0.05 ms per 1,000 messages). The error counts read only the channel's own errors: a poll cost 305 ms with 27,000 relay messages before the { channelId, destinations.state } index, 929 ms before the count was split in two.`;
  return `Polling: the dashboard asks \`${dashboardPaths.join('` and `')}\` every ${dashboardEveryMs / 1000} s. The hub's event-loop
utilisation is read from its own \`performance.eventLoopUtilization()\`, exposed on \`/metrics\` as
\`nodejs_eventloop_active_seconds_total\` and \`nodejs_eventloop_idle_seconds_total\` (two scrapes per round).
Idle hub: one poll keeps the loop busy ${ms(result.idle.perPollMs)} ms (${idlePolls} polls back to back, the relay channel empty), and
${ms(result.after.perPollMs)} ms after the rounds, with ${result.after.relayMessages.toLocaleString('en')} messages stored in the relay channel (${afterPolls} polls).
Under load: ${options.rounds} rounds, each of 4 MLLP senders (the HL7 bench's sender) pushing ${options.messages.toLocaleString('en')} ORMs through a relay
channel three times: no console, the dashboard's polling, and polling every ${amplifiedEveryMs} ms (10 × the rate, to
lift its cost above the noise); modes rotate from round to round; medians. Load average ${load}.

| console | loop utilisation | messages/s | polls | loop ms per message |
| --- | ---: | ---: | ---: | ---: |
${row('none', 'none')}
${row('dashboard', `dashboard (every ${dashboardEveryMs / 1000} s)`)}
${row('amplified', `every ${amplifiedEveryMs} ms`)}

One poll under load costs the loop ${ms(perPoll)} ms (the ${amplifiedEveryMs} ms rounds' busy time beyond what their messages cost
without a console, per poll; per round ${result.perPollUnderLoadMs.map(ms).join(', ')}): at one poll per ${dashboardEveryMs / 1000} s that is
**${pct(share, 3)} of the event loop**${basis} (${goal}: < 1 %). The dashboard rounds themselves give ${ms(fromDashboard)} ms per poll the same way
(per round ${result.perPollDashboardMs.map(ms).join(', ')}). Their utilisation minus the no-console round's is
${result.dashboardMinusNone.map((d) => pct(d, 1)).join(', ')} (median ${pct(direct, 1)}): ${why}${growth}`;
}
