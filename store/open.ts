// Opens the hub's store: MongoDB when a URL is configured, otherwise the embedded engine in
// <dataDir>/hub.sqlite. Nothing outside store/ learns which one it got (Store.engine is for /health only).
import path from 'node:path';
import type { Logger } from '../runtime/log.ts';
import type { Store } from './db.ts';
import { EmbeddedStore } from './embedded/db.ts';
import { MongoStore } from './mongo-engine.ts';

export interface OpenStoreOptions {
  readonly mongodbUrl?: string | undefined;
  readonly dataDir: string;
  readonly log: Logger;
}

export const EMBEDDED_FILE = 'hub.sqlite';

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.mongodbUrl !== undefined && options.mongodbUrl !== '')
    return MongoStore.connect(options.mongodbUrl, options.log);
  const file = path.join(options.dataDir, EMBEDDED_FILE);
  const store = new EmbeddedStore(file);
  options.log.info('store opened', { engine: 'embedded', file });
  return store;
}
