// Run by singleton-source.test.ts as one of several hub processes on one store: a source that must run in one
// process at a time, wrapped the way deployment.ts wraps it. While it runs it records a tick every 20 ms
// (pid and time) in the store; the test reads the ticks to see who ran when.
import type { SourceConnector } from '../../channels/connector.ts';
import { deadOwnersOf, leaseOwner } from '../../channels/lease-owner.ts';
import { singletonCheckMs } from '../../channels/deployment.ts';
import { SingletonSource } from '../../channels/singleton-source.ts';
import { Leases } from '../../store/lease.ts';
import { openTestStore, quietLog } from './harness.ts';

const [dataDir, ttlText] = process.argv.slice(2);
if (!dataDir || !ttlText) throw new Error('usage: singleton-child.ts <dataDir> <ttlMs>');
const store = await openTestStore(dataDir);
const ticks = store.db.collection<{ pid: number; at: number }>('ticks');
const instance = 'singleton-test';
const leases = new Leases(store.db, {
  owner: leaseOwner(instance),
  ttlMs: Number(ttlText),
  isAbandoned: (owner) => deadOwnersOf(instance, [owner]).length > 0,
});

class TickingSource implements SourceConnector {
  #timer: NodeJS.Timeout | undefined;
  async start(): Promise<void> {
    const tick = (): void => {
      void ticks.insertOne({ pid: process.pid, at: Date.now() }).finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, 20);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

const source = new SingletonSource(
  () => new TickingSource(),
  leases.lease('source:ticking'),
  quietLog,
  singletonCheckMs(Number(ttlText)),
);
await source.start();
process.stdout.write('ready\n');
process.once(
  'SIGTERM',
  () =>
    void source
      .stop()
      .then(() => store.close())
      .then(() => process.exit(0)),
);
