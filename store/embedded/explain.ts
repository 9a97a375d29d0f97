// How the embedded engine would read a filter, for tests and tools: the plan it picks (an index, an ordered index
// walk, a scan, or nothing to read), the SQL it runs and SQLite's EXPLAIN QUERY PLAN for that SQL, so a test can
// prove that an indexed lookup does not scan (SQLite "EXPLAIN QUERY PLAN": SEARCH ... USING INDEX, not SCAN).
import type { Document, Filter, Sort } from 'mongodb';
import type { CollectionInfo } from './catalog.ts';
import type { EmbeddedEngine } from './engine.ts';
import type { RowReader } from './reader.ts';
import { orderedSql, planSql } from './rows.ts';
import { normalizeSort } from './sort.ts';

export interface Explained {
  plan: string;
  index?: string;
  sql: string;
  queryPlan: string[];
}

/** Runs inside engine.read. */
export function explainRead<T extends Document>(
  engine: EmbeddedEngine,
  reader: RowReader,
  info: CollectionInfo | undefined,
  filter: Filter<T>,
  options: { sort?: Sort; limit?: number },
): Explained {
  if (info === undefined) return { plan: 'nothing', sql: '', queryPlan: [] };
  const sort = normalizeSort(options.sort);
  const ordered = sort !== undefined ? reader.orderedPlan(info, filter, sort, options.limit !== undefined) : undefined;
  const plan = reader.plan(info, filter);
  if (ordered === undefined && plan.kind === 'nothing') return { plan: 'nothing', sql: '', queryPlan: [] };
  const query =
    ordered !== undefined
      ? orderedSql(info, ordered)
      : planSql(info, plan as Exclude<typeof plan, { kind: 'nothing' }>);
  const lines = engine.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as Array<{
    detail: string;
  }>;
  const index = ordered?.index.name ?? ('index' in plan ? plan.index.name : undefined);
  return {
    plan: ordered !== undefined ? `ordered:${ordered.index.name}` : plan.kind,
    ...(index ? { index } : {}),
    sql: query.sql,
    queryPlan: lines.map((line) => line.detail),
  };
}
