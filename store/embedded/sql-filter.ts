// Narrowing: the parts of a filter that an index can answer become SQL that picks candidate rows; mingo then
// decides exactly on each candidate. A plan may return documents that do not match (mingo drops them) but must
// never leave out one that does, so anything doubtful (null, regex, arrays, $or, $not, partial indexes) scans.
import type { Document } from 'mongodb';
import { idKey } from './codec.ts';
import type { CollectionInfo } from './catalog.ts';
import type { IndexInfo } from './indexes.ts';
import { isNarrowable, isPlainObject, keyPart, type KeyPart } from './keys.ts';

export interface Bound {
  readonly op: '>' | '>=' | '<' | '<=';
  readonly value: number | string;
}

export type Plan =
  | { readonly kind: 'scan' }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'ids'; readonly keys: readonly string[]; readonly exact?: boolean }
  | { readonly kind: 'keys'; readonly index: IndexInfo; readonly keys: readonly KeyPart[]; readonly exact?: boolean }
  | { readonly kind: 'range'; readonly index: IndexInfo; readonly type: number; readonly bounds: readonly Bound[] };

const scan: Plan = { kind: 'scan' };

/** [path, condition] for each top-level field condition, looking through $and. */
function conjuncts(filter: Document, out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const part of value) if (isPlainObject(part)) conjuncts(part, out);
    } else if (!key.startsWith('$')) {
      out.push([key, value]);
    }
  }
  return out;
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key.startsWith('$'));
}

/** The values the field must equal one of, or undefined when the condition is not a plain equality / $in. */
function equalityValues(condition: unknown): unknown[] | undefined {
  if (!isOperatorObject(condition))
    return isPlainObject(condition) || Array.isArray(condition) ? undefined : [condition];
  if ('$eq' in condition)
    return Array.isArray(condition['$eq']) || isPlainObject(condition['$eq']) ? undefined : [condition['$eq']];
  if ('$in' in condition && Array.isArray(condition['$in'])) return condition['$in'];
  return undefined;
}

function idPlan(condition: unknown): Plan | undefined {
  const values = equalityValues(condition);
  if (values === undefined) return undefined;
  if (
    !values.every(
      (value) => value !== null && value !== undefined && !(value instanceof RegExp) && !Array.isArray(value),
    )
  )
    return undefined;
  return values.length === 0 ? { kind: 'nothing' } : { kind: 'ids', keys: values.map(idKey) };
}

function keysPlan(index: IndexInfo, condition: unknown): Plan | undefined {
  const values = equalityValues(condition);
  if (values === undefined || !values.every(isNarrowable)) return undefined;
  return values.length === 0 ? { kind: 'nothing' } : { kind: 'keys', index, keys: values.map(keyPart) };
}

const rangeOps: Record<string, Bound['op']> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };

function rangePlan(index: IndexInfo, condition: unknown): Plan | undefined {
  if (!isOperatorObject(condition)) return undefined;
  let type: number | undefined;
  const bounds: Bound[] = [];
  for (const [operator, value] of Object.entries(condition)) {
    const op = rangeOps[operator];
    if (op === undefined || !isNarrowable(value)) continue;
    const [valueType, key] = keyPart(value);
    if (type !== undefined && valueType !== type) continue;
    type = valueType;
    bounds.push({ op, value: key });
    // On a multikey index one element may satisfy the lower bound and another the upper: one scan per row
    // with both bounds would miss that document, so use a single bound.
    if (index.multikey) break;
  }
  return type === undefined ? undefined : { kind: 'range', index, type, bounds };
}

function usable(index: IndexInfo): boolean {
  return index.partial === undefined && !index.fields[0]!.parts.some((part) => /^\d+$/.test(part));
}

const rank: Record<Plan['kind'], number> = { nothing: 0, ids: 1, keys: 2, range: 3, scan: 4 };

/**
 * True when the plan's rows are exactly the filter's matches, so mingo need not test them: the filter is one
 * equality (or $in) on _id or on an indexed field, with values whose index key is exact. Index rows hold every
 * array element, which is MongoDB's rule that `{tags: 'x'}` matches an array containing 'x'.
 */
export function isExactPlan(plan: Plan, filter: Document): boolean {
  if (plan.kind !== 'ids' && plan.kind !== 'keys') return false;
  const keys = Object.keys(filter);
  if (keys.length !== 1 || keys[0]!.startsWith('$')) return false;
  const condition = filter[keys[0]!];
  // Exact only for a bare value, {$eq: v} or {$in: [...]} alone: any other operator beside them narrows further.
  if (isOperatorObject(condition) && Object.keys(condition).length !== 1) return false;
  const values = equalityValues(condition);
  if (values === undefined) return false;
  if (plan.kind === 'ids') return keys[0] === '_id' && values.every((value) => isNarrowable(value));
  return (
    plan.index.fields[0]!.path === keys[0] &&
    values.every((value) => isNarrowable(value) && (typeof value !== 'number' || Number.isFinite(value)))
  );
}

/**
 * How many index entries a keys plan would read, counted up to a cap: lets the planner choose between two
 * equality plans on different indexes (e.g. `{facility, patientId}` with an index on each) the way MongoDB's
 * trial runs do, instead of by the order of the filter's fields.
 */
export type PlanEstimate = (plan: Extract<Plan, { kind: 'keys' }>) => number;

export function planFilter(info: CollectionInfo | undefined, filter: Document, estimate?: PlanEstimate): Plan {
  if (info === undefined) return { kind: 'nothing' };
  let best: Plan = scan;
  let bestCost = Infinity;
  const better = (plan: Plan | undefined): void => {
    if (plan === undefined) return;
    if (rank[plan.kind] < rank[best.kind]) {
      best = plan;
      bestCost = Infinity;
      return;
    }
    if (plan.kind !== 'keys' || best.kind !== 'keys') return;
    if (plan.index.unique && !best.index.unique) {
      best = plan;
      bestCost = Infinity;
      return;
    }
    if (estimate === undefined || best.index.unique) return;
    if (bestCost === Infinity) bestCost = estimate(best);
    const cost = estimate(plan);
    if (cost < bestCost) {
      best = plan;
      bestCost = cost;
    }
  };
  for (const [path, condition] of conjuncts(filter)) {
    if (path === '_id') {
      better(idPlan(condition));
      continue;
    }
    for (const index of info.indexes) {
      if (index.fields[0]!.path !== path || !usable(index)) continue;
      better(keysPlan(index, condition) ?? rangePlan(index, condition));
    }
  }
  return best;
}

/** An index read in sort order: equality on its first fields, then the sort keys as its next fields. */
export interface OrderedPlan {
  readonly index: IndexInfo;
  readonly equals: readonly KeyPart[];
  readonly order: ReadonlyArray<{ readonly column: number; readonly direction: 1 | -1 }>;
  /** A range on the first sort key: the read starts (and stops) at its bounds instead of the index's ends. */
  readonly range?: { readonly type: number; readonly bounds: readonly Bound[] };
}

/**
 * A queue claim (`{state: 'queued'}` sorted by `{at: 1}`, limit 1) must not sort the whole queue: with an index
 * {state: 1, at: 1} the first row in index order is the answer. Only indexes that hold every document with one
 * entry each qualify (not multikey, sparse or partial): then index order is MongoDB's sort order – the key
 * pairs sort by BSON type rank first, as MongoDB orders mixed types.
 */
export function planOrder(
  info: CollectionInfo | undefined,
  filter: Document,
  sort: Record<string, 1 | -1>,
): OrderedPlan | undefined {
  if (info === undefined) return undefined;
  const sortKeys = Object.entries(sort);
  const equalities = new Map<string, KeyPart>();
  const ranges = new Map<string, unknown>();
  for (const [path, condition] of conjuncts(filter)) {
    const values = equalityValues(condition);
    if (values?.length === 1 && isNarrowable(values[0])) equalities.set(path, keyPart(values[0]));
    else if (values === undefined && !ranges.has(path)) ranges.set(path, condition);
  }
  let best: OrderedPlan | undefined;
  for (const index of info.indexes) {
    if (index.multikey || index.sparse || index.partial !== undefined) continue;
    let prefix = 0;
    while (prefix < index.fields.length && equalities.has(index.fields[prefix]!.path)) prefix++;
    if (prefix + sortKeys.length > index.fields.length) continue;
    if (!sortKeys.every(([path], i) => index.fields[prefix + i]!.path === path)) continue;
    if (best !== undefined && best.equals.length >= prefix) continue;
    // An event log read past its cursor ({seq: {$gt: n}} sorted by seq) must not decode every row below n. One
    // bound only (the filter tests the rest): another process may make the index multikey after this plan, and
    // then two bounds on one row could miss a document whose elements meet them separately.
    const range = rangePlan(index, ranges.get(index.fields[prefix]!.path));
    best = {
      index,
      equals: index.fields.slice(0, prefix).map((field) => equalities.get(field.path)!),
      order: sortKeys.map(([, direction], i) => ({ column: prefix + i, direction })),
      ...(range?.kind === 'range' ? { range: { type: range.type, bounds: range.bounds.slice(0, 1) } } : {}),
    };
  }
  return best;
}
