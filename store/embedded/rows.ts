// Turns a plan of sql-filter.ts into the SELECT that reads the candidate rows. Results come in insertion
// order (rid), which is what callers see as natural order when they give no sort.
import type { SQLInputValue } from 'node:sqlite';
import type { CollectionInfo } from './catalog.ts';
import type { EmbeddedEngine } from './engine.ts';
import { quoteIdentifier } from './indexes.ts';
import type { OrderedPlan, Plan } from './sql-filter.ts';

export interface StoredRow {
  readonly rid: number;
  readonly text: string;
}

export interface RawRow {
  readonly rid: number;
  readonly doc: string;
}

export interface SqlQuery {
  readonly sql: string;
  readonly params: SQLInputValue[];
}

export type Window = { readonly offset: number; readonly limit: number };

/** Rows in an index's order (see planOrder): equality on the leading columns, ORDER BY the next ones. */
export function orderedSql(info: CollectionInfo, plan: OrderedPlan): SqlQuery {
  const conditions = plan.equals.map((_key, i) => `x.t${i} = ? AND x.v${i} = ?`);
  const params: Array<number | string> = plan.equals.flat();
  if (plan.range !== undefined) {
    // The range's column is the first sort key's: rangePlan's type tag keeps MongoDB's type bracketing.
    const column = plan.equals.length;
    conditions.push(`x.t${column} = ?`, ...plan.range.bounds.map((bound) => `x.v${column} ${bound.op} ?`));
    params.push(plan.range.type, ...plan.range.bounds.map((bound) => bound.value));
  }
  const where = conditions.join(' AND ');
  const direction = (value: 1 | -1): string => (value === 1 ? 'ASC' : 'DESC');
  const order = plan.order.map(
    ({ column, direction: d }) => `x.t${column} ${direction(d)}, x.v${column} ${direction(d)}`,
  );
  const sql =
    `SELECT c.rid AS rid, c.doc AS doc FROM ${quoteIdentifier(plan.index.table)} AS x JOIN ${quoteIdentifier(info.table)} AS c ON c.rid = x.rid` +
    `${where === '' ? '' : ` WHERE ${where}`} ORDER BY ${[...order, 'x.rid ASC'].join(', ')}`;
  return { sql, params };
}

export function planSql(info: CollectionInfo, plan: Exclude<Plan, { kind: 'nothing' }>, window?: Window): SqlQuery {
  const select = `SELECT rid, doc FROM ${quoteIdentifier(info.table)}`;
  switch (plan.kind) {
    case 'scan':
      if (window !== undefined)
        return { sql: `${select} ORDER BY rid LIMIT ? OFFSET ?`, params: [window.limit, window.offset] };
      return { sql: `${select} ORDER BY rid`, params: [] };
    case 'ids':
      if (plan.keys.length === 1) return { sql: `${select} WHERE id = ?`, params: [plan.keys[0]!] };
      return {
        sql: `${select} WHERE id IN (SELECT value FROM json_each(?)) ORDER BY rid`,
        params: [JSON.stringify(plan.keys)],
      };
    case 'keys': {
      const index = quoteIdentifier(plan.index.table);
      if (plan.keys.length === 1) {
        const [type, value] = plan.keys[0]!;
        return {
          sql: `${select} WHERE rid IN (SELECT rid FROM ${index} WHERE t0 = ? AND v0 = ?) ORDER BY rid`,
          params: [type, value],
        };
      }
      const lookup = `SELECT x.rid FROM json_each(?) AS j JOIN ${index} AS x ON x.t0 = j.value ->> 0 AND x.v0 = j.value ->> 1`;
      return { sql: `${select} WHERE rid IN (${lookup}) ORDER BY rid`, params: [JSON.stringify(plan.keys)] };
    }
    case 'range': {
      const index = quoteIdentifier(plan.index.table);
      const bounds = plan.bounds.map((bound) => ` AND v0 ${bound.op} ?`).join('');
      return {
        sql: `${select} WHERE rid IN (SELECT rid FROM ${index} WHERE t0 = ?${bounds}) ORDER BY rid`,
        params: [plan.type, ...plan.bounds.map((bound) => bound.value)],
      };
    }
  }
}

/** The candidate rows of a plan, read lazily (a limit stops the scan early). */
export function iterateRows(
  engine: EmbeddedEngine,
  info: CollectionInfo,
  plan: Plan,
  window?: Window,
): Iterable<RawRow> {
  if (plan.kind === 'nothing') return [];
  const { sql, params } = planSql(info, plan, window);
  const statement = engine.prepare(sql);
  // Key lookups return a few rows: all() is cheaper than an iterator; scans stay lazy so a limit stops them.
  if (plan.kind === 'ids' || plan.kind === 'keys') return statement.all(...params) as unknown as RawRow[];
  return statement.iterate(...params) as Iterable<RawRow>;
}

export function readRows(engine: EmbeddedEngine, info: CollectionInfo, plan: Plan, window?: Window): RawRow[] {
  return [...iterateRows(engine, info, plan, window)];
}

export function orderedRows(engine: EmbeddedEngine, info: CollectionInfo, plan: OrderedPlan): Iterable<RawRow> {
  const { sql, params } = orderedSql(info, plan);
  return engine.prepare(sql).iterate(...params) as Iterable<RawRow>;
}
