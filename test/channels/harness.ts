// The channel engine tests' store and engine: a real embedded store in a temporary directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../../store/open.ts';
import type { Store } from '../../store/db.ts';
import { ChannelEngine, type EngineOptions } from '../../channels/engine.ts';
import { quietLog, type TestPeers } from './test-connectors.ts';

export * from './test-connectors.ts';

export async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `rso-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function openTestStore(dataDir: string): Promise<Store> {
  return openStore({ dataDir, log: quietLog });
}

/** A store, an engine with fast polling and short leases, and a way to close both. */
export async function startEngine(peers: TestPeers, dataDir: string, options: Partial<EngineOptions> = {}) {
  const store = await openTestStore(dataDir);
  const engine = new ChannelEngine({
    db: store.db,
    registry: peers.registry(),
    log: quietLog,
    pollIntervalMs: 50,
    leaseMs: 2000,
    ...options,
  });
  await engine.start();
  return {
    store,
    engine,
    close: async () => {
      await engine.stop();
      await store.close();
    },
  };
}
