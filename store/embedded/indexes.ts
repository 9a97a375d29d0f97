// Secondary indexes are side tables, one per index: (t0, v0, t1, v1, …, rid) with the key pairs of keys.ts.
// A side table rather than a json_extract() expression index because MongoDB indexes are multikey (one entry
// per array element), type-bracketed, and a unique index treats a missing field as null (so two documents
// without the field collide) – none of which an expression index over JSON text can express.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Document, IndexSpecification } from 'mongodb';
import type { Query } from 'mingo';
import { badValue } from './errors.ts';
import { keyPart, MISSING, valuesAtPath, type KeyPart } from './keys.ts';

export interface IndexField {
  readonly path: string;
  readonly parts: readonly string[];
  readonly direction: 1 | -1;
}

export interface IndexInfo {
  readonly name: string;
  readonly fields: readonly IndexField[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly partial: Document | undefined;
  readonly table: string;
  multikey: boolean;
  /** Compiled once: a partial index holds only the documents its filter matches. */
  readonly partialQuery: Query | undefined;
}

export type Prepare = (sql: string) => StatementSync;

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function indexTableName(collection: string, index: string): string {
  return `x:${collection}:${index}`;
}

/** `{a: 1, 'b.c': -1}`, 'a', ['a', 'b'], [['a', 1]] or a Map, as the driver accepts them. */
export function parseIndexSpec(spec: IndexSpecification): IndexField[] {
  const pairs: Array<[string, unknown]> = [];
  const addItem = (item: unknown): void => {
    if (typeof item === 'string') pairs.push([item, 1]);
    else if (Array.isArray(item)) pairs.push([String(item[0]), item[1]]);
    else if (item instanceof Map) for (const [field, value] of item) pairs.push([String(field), value]);
    else if (typeof item === 'object' && item !== null) pairs.push(...Object.entries(item));
    else throw badValue(`createIndex: unexpected key specification ${JSON.stringify(item)}`);
  };
  if (Array.isArray(spec) && !(spec.length === 2 && typeof spec[0] === 'string' && typeof spec[1] === 'number'))
    spec.forEach(addItem);
  else addItem(spec);
  if (pairs.length === 0) throw badValue('createIndex: the key specification is empty');
  return pairs.map(([path, direction]) => {
    if (direction !== 1 && direction !== -1) {
      throw new Error(
        `createIndex: index type ${JSON.stringify(direction)} on '${path}' is not supported by the embedded engine (only 1 and -1)`,
      );
    }
    return { path, parts: path.split('.'), direction };
  });
}

/** MongoDB's default name: `field_1`, compound `a_1_b_-1`. */
export function defaultIndexName(fields: readonly IndexField[]): string {
  return fields.map((field) => `${field.path}_${field.direction}`).join('_');
}

export function createIndexTable(db: DatabaseSync, index: IndexInfo): void {
  const columns = index.fields.map((_field, i) => `t${i} INTEGER NOT NULL, v${i} NOT NULL`).join(', ');
  const keyColumns = index.fields.map((_field, i) => `t${i}, v${i}`).join(', ');
  const primaryKey = index.unique ? keyColumns : `${keyColumns}, rid`;
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(index.table)} (${columns}, rid INTEGER NOT NULL, PRIMARY KEY (${primaryKey})) WITHOUT ROWID`,
  );
}

export interface DocumentKeys {
  readonly rows: KeyPart[][];
  readonly multikey: boolean;
}

const none: DocumentKeys = { rows: [], multikey: false };

/** The index entries of one document: one row per combination of field values, without duplicates. */
export function documentKeys(index: IndexInfo, doc: Document): DocumentKeys {
  if (index.partialQuery !== undefined && !index.partialQuery.test(doc)) return none;
  const perField = index.fields.map((field) => valuesAtPath(doc, field.parts));
  if (index.sparse && perField.every((values) => values.length === 1 && values[0] === MISSING)) return none;
  const multikey =
    perField.some((values) => values.length > 1) || index.fields.some((field) => hasArrayOnPath(doc, field.parts));
  let rows: KeyPart[][] = [[]];
  for (const values of perField) {
    const parts = values.map(keyPart);
    rows = rows.flatMap((row) => parts.map((part) => [...row, part]));
  }
  if (rows.length > 1) {
    const seen = new Set<string>();
    rows = rows.filter((row) => {
      const text = JSON.stringify(row);
      if (seen.has(text)) return false;
      seen.add(text);
      return true;
    });
  }
  return { rows, multikey };
}

function hasArrayOnPath(doc: unknown, parts: readonly string[]): boolean {
  let current: unknown = doc;
  for (const part of parts) {
    if (Array.isArray(current)) return true;
    if (typeof current !== 'object' || current === null) return false;
    current = (current as Record<string, unknown>)[part];
  }
  return Array.isArray(current);
}

export function sameKeys(a: DocumentKeys, b: DocumentKeys): boolean {
  return a.rows.length === b.rows.length && JSON.stringify(a.rows) === JSON.stringify(b.rows);
}

interface IndexSql {
  readonly insert: string;
  readonly remove: string;
}

const sqlCache = new WeakMap<IndexInfo, IndexSql>();

function sqlFor(index: IndexInfo): IndexSql {
  let sql = sqlCache.get(index);
  if (sql === undefined) {
    const table = quoteIdentifier(index.table);
    const columns = index.fields.map((_field, i) => `t${i}, v${i}`).join(', ');
    const marks = index.fields.map(() => '?, ?').join(', ');
    const where = index.fields.map((_field, i) => `t${i} = ? AND v${i} = ?`).join(' AND ');
    sql = {
      insert: `INSERT OR IGNORE INTO ${table} (${columns}, rid) VALUES (${marks}, ?)`,
      remove: `DELETE FROM ${table} WHERE ${where} AND rid = ?`,
    };
    sqlCache.set(index, sql);
  }
  return sql;
}

function rowParams(row: readonly KeyPart[], rid: number): Array<number | string> {
  const params: Array<number | string> = [];
  for (const [type, value] of row) params.push(type, value);
  params.push(rid);
  return params;
}

/** Inserts the rows; returns the first row a unique index already holds for another document, or undefined. */
export function insertIndexRows(
  prepare: Prepare,
  index: IndexInfo,
  rid: number,
  rows: readonly KeyPart[][],
): KeyPart[] | undefined {
  if (rows.length === 0) return undefined;
  const insert = prepare(sqlFor(index).insert);
  for (const row of rows) {
    const { changes } = insert.run(...rowParams(row, rid));
    // Rows of one document are distinct, so an ignored row means another document owns this unique key.
    if (changes === 0) return row;
  }
  return undefined;
}

export function deleteIndexRows(prepare: Prepare, index: IndexInfo, rid: number, rows: readonly KeyPart[][]): void {
  if (rows.length === 0) return;
  const remove = prepare(sqlFor(index).remove);
  for (const row of rows) remove.run(...rowParams(row, rid));
}
