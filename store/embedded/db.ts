// The embedded engine's HubDb and Store: what store/open.ts hands out when no MongoDB URL is configured.
import type { Document } from 'mongodb';
import type { HubCollection, HubDb, Store } from '../db.ts';
import { EmbeddedCollection } from './collection.ts';
import { EmbeddedEngine } from './engine.ts';

export class EmbeddedDb implements HubDb {
  readonly databaseName: string;
  readonly #engine: EmbeddedEngine;
  readonly #collections = new Map<string, EmbeddedCollection>();

  constructor(engine: EmbeddedEngine, databaseName: string) {
    this.#engine = engine;
    this.databaseName = databaseName;
  }

  collection<T extends Document = Document>(name: string): HubCollection<T> & EmbeddedCollection<T> {
    let collection = this.#collections.get(name);
    if (collection === undefined) {
      collection = new EmbeddedCollection(this.#engine, this.databaseName, name);
      this.#collections.set(name, collection);
    }
    return collection as unknown as EmbeddedCollection<T>;
  }
}

export class EmbeddedStore implements Store {
  readonly engine = 'embedded' as const;
  readonly db: EmbeddedDb;
  readonly file: string;
  readonly #engine: EmbeddedEngine;

  constructor(file: string, databaseName = 'hub') {
    this.file = file;
    this.#engine = new EmbeddedEngine({ file });
    this.db = new EmbeddedDb(this.#engine, databaseName);
  }

  /** Transactions this process has committed on the file. */
  get commits(): number {
    return this.#engine.commits;
  }

  pragma(name: 'journal_mode' | 'synchronous' | 'busy_timeout'): unknown {
    return this.#engine.pragma(name);
  }

  async ping(): Promise<boolean> {
    if (!this.#engine.isOpen) return false;
    try {
      this.#engine.prepare('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#engine.close();
  }
}
