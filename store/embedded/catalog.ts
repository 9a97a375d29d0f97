// What collections and indexes exist, kept in SQLite so that every process on the same file sees them. Each
// process caches the catalog and reloads it when the version row changes; the version is read inside the
// transaction of every operation, so a plan never uses a catalog older than the data it reads.
import type { DatabaseSync } from 'node:sqlite';
import { Query } from 'mingo';
import type { Document } from 'mongodb';
import { decodeDocument, encodeDocument } from './codec.ts';
import {
  createIndexTable,
  indexTableName,
  quoteIdentifier,
  type IndexField,
  type IndexInfo,
  type Prepare,
} from './indexes.ts';
import { queryOptions } from './query-options.ts';

export interface CollectionInfo {
  readonly name: string;
  readonly table: string;
  readonly indexes: IndexInfo[];
}

export interface NewIndex {
  readonly name: string;
  readonly fields: readonly IndexField[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly partial: Document | undefined;
}

interface IndexRow {
  collection: string;
  name: string;
  fields: string;
  is_unique: number;
  is_sparse: number;
  partial: string | null;
  multikey: number;
}

export function createCatalogTables(db: DatabaseSync): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS _hub_catalog (version INTEGER NOT NULL);
    INSERT INTO _hub_catalog (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM _hub_catalog);
    CREATE TABLE IF NOT EXISTS _hub_collections (name TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS _hub_indexes (
      collection TEXT NOT NULL, name TEXT NOT NULL, fields TEXT NOT NULL, is_unique INTEGER NOT NULL,
      is_sparse INTEGER NOT NULL, partial TEXT, multikey INTEGER NOT NULL, PRIMARY KEY (collection, name)
    );
  `);
}

export function collectionTableName(name: string): string {
  return `c:${name}`;
}

export class Catalog {
  readonly #db: DatabaseSync;
  readonly #prepare: Prepare;
  #version = -1;
  #collections = new Map<string, CollectionInfo>();

  constructor(db: DatabaseSync, prepare: Prepare) {
    this.#db = db;
    this.#prepare = prepare;
  }

  /** Call inside a transaction: reloads when another process (or this one) changed the catalog. */
  refresh(): void {
    const row = this.#prepare('SELECT version FROM _hub_catalog').get() as { version: number } | undefined;
    const version = row?.version ?? 0;
    if (version === this.#version) return;
    this.#load();
    this.#version = version;
  }

  /** The version the cache holds (-1 once invalidated); changes whenever this process changes the catalog. */
  get version(): number {
    return this.#version;
  }

  /** Forgets the cache: the next refresh reloads from the tables. */
  invalidate(): void {
    this.#version = -1;
  }

  get(name: string): CollectionInfo | undefined {
    return this.#collections.get(name);
  }

  /** MongoDB creates a collection on its first write; so does this. Call inside a write transaction. */
  ensure(name: string): CollectionInfo {
    const known = this.#collections.get(name);
    if (known !== undefined) return known;
    if (name.length === 0 || name.includes('\0') || name.startsWith('system.'))
      throw new Error(`collection name '${name}' is not allowed`);
    const table = collectionTableName(name);
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)`,
    );
    this.#prepare('INSERT OR IGNORE INTO _hub_collections (name) VALUES (?)').run(name);
    const info: CollectionInfo = { name, table, indexes: [] };
    this.#collections.set(name, info);
    this.#bump();
    return info;
  }

  /** Records and creates an index table; the caller fills it. Call inside a write transaction. */
  addIndex(collection: CollectionInfo, spec: NewIndex): IndexInfo {
    const index = toIndexInfo(collection.name, spec, false);
    createIndexTable(this.#db, index);
    this.#prepare(
      'INSERT INTO _hub_indexes (collection, name, fields, is_unique, is_sparse, partial, multikey) VALUES (?, ?, ?, ?, ?, ?, 0)',
    ).run(
      collection.name,
      spec.name,
      JSON.stringify(spec.fields.map((field) => [field.path, field.direction])),
      spec.unique ? 1 : 0,
      spec.sparse ? 1 : 0,
      spec.partial === undefined ? null : encodeDocument(spec.partial),
    );
    collection.indexes.push(index);
    this.#bump();
    return index;
  }

  /** A multikey index cannot answer a two-sided range in one scan (each bound may match another element). */
  markMultikey(collection: CollectionInfo, index: IndexInfo): void {
    if (index.multikey) return;
    index.multikey = true;
    this.#prepare('UPDATE _hub_indexes SET multikey = 1 WHERE collection = ? AND name = ?').run(
      collection.name,
      index.name,
    );
    this.#bump();
  }

  /** Removes a collection, its indexes and their tables. Call inside a write transaction. */
  drop(collection: CollectionInfo): void {
    for (const index of collection.indexes) this.#db.exec(`DROP TABLE IF EXISTS ${quoteIdentifier(index.table)}`);
    this.#db.exec(`DROP TABLE IF EXISTS ${quoteIdentifier(collection.table)}`);
    this.#prepare('DELETE FROM _hub_indexes WHERE collection = ?').run(collection.name);
    this.#prepare('DELETE FROM _hub_collections WHERE name = ?').run(collection.name);
    this.#collections.delete(collection.name);
    this.#bump();
  }

  #bump(): void {
    this.#prepare('UPDATE _hub_catalog SET version = version + 1').run();
    const row = this.#prepare('SELECT version FROM _hub_catalog').get() as { version: number };
    this.#version = row.version;
  }

  #load(): void {
    const collections = new Map<string, CollectionInfo>();
    for (const row of this.#prepare('SELECT name FROM _hub_collections').all() as Array<{ name: string }>) {
      collections.set(row.name, { name: row.name, table: collectionTableName(row.name), indexes: [] });
    }
    for (const row of this.#prepare('SELECT * FROM _hub_indexes ORDER BY rowid').all() as unknown as IndexRow[]) {
      const fields = (JSON.parse(row.fields) as Array<[string, 1 | -1]>).map(([path, direction]) => ({
        path,
        parts: path.split('.'),
        direction,
      }));
      const spec: NewIndex = {
        name: row.name,
        fields,
        unique: row.is_unique === 1,
        sparse: row.is_sparse === 1,
        partial: row.partial === null ? undefined : decodeDocument(row.partial),
      };
      collections.get(row.collection)?.indexes.push(toIndexInfo(row.collection, spec, row.multikey === 1));
    }
    this.#collections = collections;
  }
}

function toIndexInfo(collection: string, spec: NewIndex, multikey: boolean): IndexInfo {
  return {
    ...spec,
    table: indexTableName(collection, spec.name),
    multikey,
    partialQuery: spec.partial === undefined ? undefined : new Query(spec.partial, queryOptions),
  };
}
