// Which hub process this is and how it is doing, for /health, /metrics and the dashboard when several processes
// serve one installation (hub.workers, or several machines on one MongoDB): a load balancer's answer must say
// which process gave it. Event-loop lag is the hub's first sign of overload (every socket waits on the loop), so
// it is measured all the time with perf_hooks' histogram and reported as percentiles since the last reading.
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

export interface ProcessIdentity {
  /** The installation (its data dir's instance id). */
  readonly instance: string;
  /** The name this process holds leases under (channels/lease-owner.ts). */
  readonly owner: string;
  readonly pid: number;
  /** Its number under the supervisor, or null when it runs alone. */
  readonly worker: number | null;
  readonly host: string;
  readonly startedAt: string;
}

export interface ProcessSample extends ProcessIdentity {
  readonly uptimeSeconds: number;
  readonly eventLoopLagMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

export class ProcessMonitor {
  readonly identity: ProcessIdentity;
  #histogram: IntervalHistogram | undefined;

  constructor(identity: Omit<ProcessIdentity, 'pid' | 'host' | 'startedAt'>) {
    this.identity = {
      ...identity,
      pid: process.pid,
      host: hostname(),
      startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    };
  }

  start(): void {
    if (this.#histogram) return;
    this.#histogram = monitorEventLoopDelay({ resolution: 20 });
    this.#histogram.enable();
  }

  stop(): void {
    this.#histogram?.disable();
    this.#histogram = undefined;
  }

  /** The current figures; the lag percentiles cover the time since the previous sample. */
  sample(): ProcessSample {
    const h = this.#histogram;
    const ms = (ns: number): number => Math.round((Number.isFinite(ns) ? ns : 0) / 1e4) / 100;
    const lag = h && h.count > 0 ? { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) } : zeroLag;
    h?.reset();
    return { ...this.identity, uptimeSeconds: Math.round(process.uptime()), eventLoopLagMs: lag };
  }
}

const zeroLag = { p50: 0, p99: 0, max: 0 };
