// The supervisor of `hub.workers` hub processes (issue 18): it forks them, restarts one that dies (with backoff,
// so a worker that crashes at once does not spin a core), forwards SIGTERM/SIGINT and waits for all to stop.
// It opens no port and no store: the workers share those. Each worker has an IPC channel to it and stops when
// that channel closes, so no worker outlives its supervisor, even one killed with SIGKILL.
// A worker that exits before it ever said "started" is a start-up mistake (config, port): the supervisor then
// stops the others and exits with the worker's code instead of restarting it for ever.
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from './log.ts';

export interface SupervisorOptions {
  /** The hub's entry script, forked once per worker. */
  readonly script: string;
  readonly workers: number;
  readonly log: Logger;
  /** First restart delay; doubles on each quick death up to maxBackoffMs. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A worker that ran this long before dying is restarted after initialBackoffMs again. */
  readonly stableAfterMs?: number;
}

/** The environment variable that tells a hub process it is worker n of a supervisor. */
export const workerEnv = 'RSO_HUB_WORKER';

/** What a worker tells its supervisor once it serves. */
export const startedMessage = 'rso-hub:started';

interface Slot {
  readonly n: number;
  child: ChildProcess | undefined;
  started: boolean;
  startedAt: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export class Supervisor {
  readonly #o: Required<SupervisorOptions>;
  readonly #slots: Slot[] = [];
  #stopping = false;
  #everStarted = false;
  #failed: ((code: number) => void) | undefined;

  constructor(options: SupervisorOptions) {
    this.#o = { initialBackoffMs: 1_000, maxBackoffMs: 30_000, stableAfterMs: 60_000, ...options };
  }

  /** Forks every worker; resolves with an exit code only if start-up failed (see the file comment). */
  run(): Promise<number> {
    const failed = new Promise<number>((resolve) => (this.#failed = resolve));
    for (let n = 1; n <= this.#o.workers; n++) {
      const slot: Slot = {
        n,
        child: undefined,
        started: false,
        startedAt: 0,
        backoffMs: this.#o.initialBackoffMs,
        restartTimer: undefined,
      };
      this.#slots.push(slot);
      this.#fork(slot);
    }
    return failed;
  }

  /** The pids of the workers running now (tests and logs). */
  get pids(): number[] {
    return this.#slots.flatMap((slot) => (slot.child?.pid === undefined ? [] : [slot.child.pid]));
  }

  /** Sends `signal` to every worker and waits until all have exited; true when all exited with 0. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
    this.#stopping = true;
    const exits: Array<Promise<boolean>> = [];
    for (const slot of this.#slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      const child = slot.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      const starting = !slot.started;
      // A worker restarted moments before may still be loading its code, before it has a signal handler: the
      // signal ends it there, with nothing served yet, which is as clean a stop as its own.
      const clean = (code: number | null, by: NodeJS.Signals | null): boolean =>
        code === 0 || (starting && by === signal);
      exits.push(new Promise((resolve) => child.once('exit', (code, by) => resolve(clean(code, by)))));
      child.kill(signal);
    }
    const cleanly = await Promise.all(exits);
    return cleanly.every(Boolean);
  }

  #fork(slot: Slot): void {
    slot.restartTimer = undefined;
    slot.started = false;
    const child = fork(this.#o.script, [], {
      env: { ...process.env, [workerEnv]: String(slot.n) },
      stdio: 'inherit',
    });
    slot.child = child;
    slot.startedAt = Date.now();
    child.on('message', (message: unknown) => {
      if (message !== startedMessage) return;
      slot.started = true;
      this.#everStarted = true;
      this.#o.log.info('worker started', { worker: slot.n, pid: child.pid ?? 0 });
    });
    child.once('exit', (code, signal) => this.#exited(slot, child, code, signal));
  }

  #exited(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child === child) slot.child = undefined;
    if (this.#stopping) return;
    const fields = { worker: slot.n, pid: child.pid ?? 0, code: code ?? -1, signal: signal ?? '' };
    if (!slot.started && !this.#everStarted) {
      this.#o.log.error('worker could not start; stopping the others', fields);
      void this.stop().then(() => this.#failed?.(code ?? 1));
      return;
    }
    const ranMs = Date.now() - slot.startedAt;
    if (ranMs >= this.#o.stableAfterMs) slot.backoffMs = this.#o.initialBackoffMs;
    const delayMs = slot.backoffMs;
    slot.backoffMs = Math.min(this.#o.maxBackoffMs, slot.backoffMs * 2);
    this.#o.log.warn('worker died; restarting', { ...fields, delayMs });
    slot.restartTimer = setTimeout(() => this.#fork(slot), delayMs);
  }
}
