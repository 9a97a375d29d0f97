// Reading candidate rows: the plan of sql-filter.ts, lazily read by rows.ts, decoded and tested by mingo, then
// skipped / limited / sorted. Stops reading as soon as a limit is met when the order allows it.
import { Query } from 'mingo';
import type { Document } from 'mongodb';
import type { CollectionInfo } from './catalog.ts';
import { decodeDocument } from './codec.ts';
import type { EmbeddedEngine } from './engine.ts';
import { quoteIdentifier, type IndexInfo } from './indexes.ts';
import { compileFilter, type Matcher } from './matcher.ts';
import { queryOptions } from './query-options.ts';
import { indexWhere, iterateRows, orderedRows, readRows, type RawRow, type SqlQuery, type StoredRow } from './rows.ts';
import type { SortSpec } from './sort.ts';
import { isExactPlan, planFilter, planOrder, type OrderedPlan, type PlanEstimate } from './sql-filter.ts';

/**
 * Counting further would not change which plan is smaller in any way that matters: above it, a plan is "many"
 * (a day of a busy facility's worklist is well under it, the facility's whole backlog well above).
 */
const ESTIMATE_CAP = 1000;

export interface Row extends StoredRow {
  /** Decoded from `text`; the before-image of an update. */
  readonly doc: Document;
}

export interface Selection {
  sort?: SortSpec | undefined;
  skip?: number | undefined;
  limit?: number | undefined;
}

export class RowReader {
  readonly #engine: EmbeddedEngine;

  constructor(engine: EmbeddedEngine) {
    this.#engine = engine;
  }

  /** Index entries a plan reads, counted up to a cap (only which plan is smaller matters). */
  readonly #estimate: PlanEstimate = (plan) => {
    if (plan.kind === 'range') return this.#entries(plan.index, indexWhere(plan.equals, plan));
    const lookup = `SELECT 1 FROM json_each(?) AS j JOIN ${quoteIdentifier(plan.index.table)} AS x ON x.t0 = j.value ->> 0 AND x.v0 = j.value ->> 1 LIMIT ${ESTIMATE_CAP}`;
    const row = this.#engine.prepare(`SELECT count(*) AS n FROM (${lookup})`).get(JSON.stringify(plan.keys)) as {
      n: number;
    };
    return row.n;
  };

  #entries(index: IndexInfo, where: SqlQuery): number {
    const condition = where.sql === '' ? '' : ` WHERE ${where.sql}`;
    const lookup = `SELECT 1 FROM ${quoteIdentifier(index.table)}${condition} LIMIT ${ESTIMATE_CAP}`;
    return (this.#engine.prepare(`SELECT count(*) AS n FROM (${lookup})`).get(...where.params) as { n: number }).n;
  }

  /** The plan `take` reads with: the cheapest index for the filter by rank, then by estimated entries. */
  plan(info: CollectionInfo | undefined, filter: Document): ReturnType<typeof planFilter> {
    return planFilter(info, filter, this.#estimate);
  }

  count(info: CollectionInfo): number {
    const row = this.#engine.prepare(`SELECT count(*) AS n FROM ${quoteIdentifier(info.table)}`).get() as { n: number };
    return row.n;
  }

  /**
   * The number of matching documents when the index alone answers the filter (isExactPlan), without reading a
   * document: a count of a queue's items must not decode every item's content. Undefined when it cannot.
   */
  countExact(info: CollectionInfo, filter: Document): number | undefined {
    const plan = this.plan(info, filter);
    if (plan.kind === 'nothing') return 0;
    if (!isExactPlan(plan, filter)) return undefined;
    if (plan.kind === 'ids') {
      const sql = `SELECT count(*) AS n FROM ${quoteIdentifier(info.table)} WHERE id IN (SELECT value FROM json_each(?))`;
      return (this.#engine.prepare(sql).get(JSON.stringify([...new Set(plan.keys)])) as { n: number }).n;
    }
    if (plan.kind !== 'keys') return undefined;
    const join = `FROM json_each(?) AS j JOIN ${quoteIdentifier(plan.index.table)} AS x ON x.t0 = j.value ->> 0 AND x.v0 = j.value ->> 1`;
    if (plan.index.multikey) {
      // A multikey index holds a document once per matching key: count documents, not entries.
      const sql = `SELECT count(*) AS n FROM (SELECT DISTINCT x.rid ${join})`;
      return (this.#engine.prepare(sql).get(JSON.stringify(plan.keys)) as { n: number }).n;
    }
    // Otherwise an entry is a document, and SQLite counts the entries in the index itself, without the temporary
    // table DISTINCT builds (a channel's 180,000 messages: the console's every poll). Whether the index is multikey
    // must be read in the snapshot the count reads, since another process's write can make it so.
    if (!this.#engine.inTransaction) {
      return this.#engine.snapshot(() => {
        const current = this.#engine.catalog.get(info.name);
        return current === undefined ? 0 : this.countExact(current, filter);
      });
    }
    const keys = [...new Map(plan.keys.map((key) => [JSON.stringify(key), key])).values()];
    if (keys.length === 1) {
      const [type, value] = keys[0] as unknown as [unknown, unknown];
      const sql = `SELECT count(*) AS n FROM ${quoteIdentifier(plan.index.table)} WHERE t0 = ? AND v0 = ?`;
      return (this.#engine.prepare(sql).get(type as never, value as never) as { n: number }).n;
    }
    return (this.#engine.prepare(`SELECT count(*) AS n ${join}`).get(JSON.stringify(keys)) as { n: number }).n;
  }

  matching(info: CollectionInfo | undefined, filter: Document): Row[] {
    return this.take(info, filter, Infinity);
  }

  /** The first `count` matching rows in insertion order; stops reading as soon as it has them. */
  take(info: CollectionInfo | undefined, filter: Document, count: number, skip = 0): Row[] {
    if (info === undefined || count <= 0) return [];
    if (Object.keys(filter).length === 0) {
      // No filter: SQLite skips and limits by itself instead of reading every row.
      const window = count === Infinity ? undefined : { offset: skip, limit: count };
      const rows = readRows(this.#engine, info, { kind: 'scan' }, window).map(decodeRow);
      return window === undefined ? rows.slice(skip) : rows;
    }
    const plan = this.plan(info, filter);
    // A range with both bounds is only right while the index is not multikey: check that in the same snapshot.
    if (plan.kind === 'range' && plan.bounds.length > 1 && !this.#engine.inTransaction) {
      return this.#engine.snapshot(() => this.take(this.#engine.catalog.get(info.name), filter, count, skip));
    }
    return collect(
      iterateRows(this.#engine, info, plan),
      isExactPlan(plan, filter) ? everything : compileFilter(filter),
      skip,
      count,
    );
  }

  select(info: CollectionInfo | undefined, filter: Document, selection: Selection): Row[] {
    const skip = selection.skip ?? 0;
    const limit = selection.limit ?? Infinity;
    if (selection.sort === undefined) return this.take(info, filter, limit, skip);
    const ordered = this.orderedPlan(info, filter, selection.sort, limit !== Infinity);
    // Two bounds are only right while the index is not multikey: check that in the same snapshot.
    if (ordered !== undefined && (ordered.range?.bounds.length ?? 0) > 1 && !this.#engine.inTransaction)
      return this.#engine.snapshot(() => this.select(this.#engine.catalog.get(info!.name), filter, selection));
    if (ordered !== undefined)
      return collect(orderedRows(this.#engine, info!, ordered), compileFilter(filter), skip, limit, true);
    const rows = this.matching(info, filter);
    const byDoc = new Map<Document, Row>(rows.map((row) => [row.doc, row]));
    let cursor = new Query({}, queryOptions).find<Document>(rows.map((row) => row.doc)).sort(selection.sort);
    if (skip > 0) cursor = cursor.skip(skip);
    if (limit !== Infinity) cursor = cursor.limit(limit);
    return cursor.all().map((doc) => byDoc.get(doc)!);
  }

  /**
   * An index in sort order beats sorting every match, unless the filter already pins down fewer documents than
   * the ordered read would pass over (an accession number among a facility's backlog). Without a limit the whole
   * index would be read, so then only an index whose leading fields the filter fixes or bounds (which narrows as
   * well as sorts) is worth it.
   */
  orderedPlan(
    info: CollectionInfo | undefined,
    filter: Document,
    sort: SortSpec,
    limited: boolean,
  ): OrderedPlan | undefined {
    const ordered = planOrder(info, filter, sort);
    if (ordered === undefined || (!limited && ordered.equals.length === 0 && ordered.range === undefined))
      return undefined;
    const narrowed = this.plan(info, filter);
    if (narrowed.kind === 'nothing' || narrowed.kind === 'ids') return undefined;
    if (narrowed.kind === 'keys' && narrowed.index.unique) return undefined;
    if (narrowed.kind === 'scan') return ordered;
    const few = this.#estimate(narrowed);
    if (few < ESTIMATE_CAP && few < this.#entries(ordered.index, indexWhere(ordered.equals, ordered.range)))
      return undefined;
    return ordered;
  }
}

const everything: Matcher = { test: () => true };

function decodeRow(row: RawRow): Row {
  return { rid: row.rid, text: row.doc, doc: decodeDocument(row.doc) };
}

/**
 * Decodes and tests candidates in order until `count` matches past the first `skip` are found. `unique` drops
 * repeated rows: an index read in order yields a document once per key, and another process may have made the
 * index multikey after this one planned with it.
 */
function collect(rows: Iterable<RawRow>, matcher: Matcher, skip: number, count: number, unique = false): Row[] {
  const found: Row[] = [];
  const seen = unique ? new Set<number>() : undefined;
  let skipped = 0;
  for (const raw of rows) {
    if (seen !== undefined) {
      if (seen.has(raw.rid)) continue;
      seen.add(raw.rid);
    }
    const row = decodeRow(raw);
    if (!matcher.test(row.doc)) continue;
    if (skipped < skip) {
      skipped++;
      continue;
    }
    found.push(row);
    if (found.length >= count) break;
  }
  return found;
}
