// The engines the store suites run against: the embedded engine always; MongoDB (the official driver) when
// MONGODB_URL names a server. Each engine hands out fresh, uniquely named collections.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import type { HubDb } from '../../store/db.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';

export interface TestEngine {
  readonly name: 'embedded' | 'mongodb';
  readonly db: HubDb;
  close(): Promise<void>;
}

export const mongodbUrl = process.env['MONGODB_URL'] ?? '';

export function openEmbedded(): TestEngine & { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rso-store-'));
  const file = path.join(dir, 'hub.sqlite');
  const store = new EmbeddedStore(file);
  return {
    name: 'embedded',
    db: store.db,
    dir,
    file,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A database of its own per run (dropped at close), so runs in parallel never see each other's data. */
export async function openMongo(label: string): Promise<TestEngine> {
  const client = await MongoClient.connect(mongodbUrl, { serverSelectionTimeoutMS: 10_000 });
  const db: Db = client.db(`rso_hub_${label}_${process.pid}_${Date.now()}`);
  return {
    name: 'mongodb',
    db,
    close: async () => {
      await db.dropDatabase();
      await client.close();
    },
  };
}

let counter = 0;
export function freshName(prefix = 'case'): string {
  counter++;
  return `${prefix}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}
