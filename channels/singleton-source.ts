// A source that must run in one hub process at a time: one that polls something every process sees (the exam
// event log, a drop folder) would otherwise take each event or file once per process. Every process deploys the
// channel; this wrapper starts the real source only in the process holding the channel's lease (store/lease.ts)
// and stops it there when the lease is lost, so another process takes over within the lease time after a crash.
// Listening sources (MLLP) need none of this: the kernel gives each connection to one process.
import { errorText, type Logger } from '../runtime/log.ts';
import type { SourceConnector } from './connector.ts';
import type { Lease } from '../store/lease.ts';

export class SingletonSource implements SourceConnector {
  readonly #create: () => SourceConnector;
  readonly #lease: Lease;
  readonly #log: Logger;
  readonly #checkMs: number;
  #inner: SourceConnector | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  #stopped = true;

  constructor(create: () => SourceConnector, lease: Lease, log: Logger, checkMs: number) {
    this.#create = create;
    this.#lease = lease;
    this.#log = log;
    this.#checkMs = checkMs;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#checking = this.#check();
    await this.#checking;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#checking;
    await this.#stopInner();
    await this.#lease.release().catch(() => undefined);
  }

  async #check(): Promise<void> {
    try {
      const held = await this.#lease.hold();
      if (this.#stopped) return;
      if (held && this.#inner === undefined) {
        const inner = this.#create();
        this.#inner = inner;
        await inner.start();
        this.#log.info('source runs in this process', { lease: this.#lease.name });
      } else if (!held && this.#inner !== undefined) {
        this.#log.warn('source lease lost; stopping it here', { lease: this.#lease.name });
        await this.#stopInner();
      }
    } catch (error) {
      this.#log.error('source lease check failed', { lease: this.#lease.name, error: errorText(error) });
    } finally {
      if (!this.#stopped) this.#timer = setTimeout(() => (this.#checking = this.#check()), this.#checkMs);
    }
  }

  async #stopInner(): Promise<void> {
    const inner = this.#inner;
    this.#inner = undefined;
    await inner?.stop();
  }
}
