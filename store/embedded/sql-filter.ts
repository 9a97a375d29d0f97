// Narrowing: the parts of a filter that an index can answer become SQL that picks candidate rows; mingo then
// decides exactly on each candidate. A plan may return documents that do not match (mingo drops them) but must
// never leave out one that does, so anything doubtful (null, regex, arrays, $or, $not, partial indexes) scans.
// A compound index is read as far as the filter fixes its leading fields, then bounded on the next one (what
// MongoDB's explain calls index bounds): `{facility, status, scheduledAt}` answers one facility's requested
// exams of one day without reading its other days.
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
  | {
      readonly kind: 'range';
      readonly index: IndexInfo;
      /** Equality on the index's first fields, one key each. */
      readonly equals: readonly KeyPart[];
      /** The type and bounds on the field after them; none when the equalities alone narrow. */
      readonly type: number | undefined;
      readonly bounds: readonly Bound[];
    };

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

/**
 * Bounds for one field from a condition like `{$gte: a, $lt: b}`, all of one type (MongoDB's type bracketing: a
 * string bound never matches a number). Bounds of a second type are left to mingo; on a multikey index only one
 * bound is used, since one element may satisfy the lower bound and another the upper.
 */
function boundsOf(condition: unknown, multikey: boolean): { type: number; bounds: Bound[] } | undefined {
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
    if (multikey) break;
  }
  return type === undefined ? undefined : { type, bounds };
}

/** The single value a condition fixes the field to (a bare value, $eq or a one-value $in), else undefined. */
function singleEquality(condition: unknown): KeyPart | undefined {
  const values = equalityValues(condition);
  return values?.length === 1 && isNarrowable(values[0]) ? keyPart(values[0]) : undefined;
}

type Conditions = ReadonlyMap<string, readonly unknown[]>;

function byPath(filter: Document): Map<string, unknown[]> {
  const conditions = new Map<string, unknown[]>();
  for (const [path, condition] of conjuncts(filter)) {
    const list = conditions.get(path);
    if (list === undefined) conditions.set(path, [condition]);
    else list.push(condition);
  }
  return conditions;
}

/** Leading index fields the filter fixes to one value each, in index order. */
function equalityPrefix(index: IndexInfo, conditions: Conditions): KeyPart[] {
  const equals: KeyPart[] = [];
  for (const field of index.fields) {
    const key = conditions
      .get(field.path)
      ?.map(singleEquality)
      .find((part) => part !== undefined);
    if (key === undefined) break;
    equals.push(key);
  }
  return equals;
}

/** Bounds on the index field at `column` from any of the filter's conditions on it. */
function boundsAt(
  index: IndexInfo,
  column: number,
  conditions: Conditions,
): { type: number; bounds: Bound[] } | undefined {
  const field = index.fields[column];
  if (field === undefined) return undefined;
  for (const condition of conditions.get(field.path) ?? []) {
    const found = boundsOf(condition, index.multikey);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * An equality prefix of two or more fields, or any prefix (none too) followed by bounds on the next field. One
 * equality alone is keysPlan's, which also takes $in lists.
 */
function rangePlan(index: IndexInfo, conditions: Conditions): Plan | undefined {
  const equals = equalityPrefix(index, conditions);
  const range = boundsAt(index, equals.length, conditions);
  if (range === undefined && equals.length < 2) return undefined;
  return { kind: 'range', index, equals, type: range?.type, bounds: range?.bounds ?? [] };
}

/** Paths with a numeric part (`items.0`) address array positions, which index rows do not record. */
function usable(index: IndexInfo, columns: number): boolean {
  return (
    index.partial === undefined &&
    index.fields.slice(0, columns).every((field) => !field.parts.some((part) => /^\d+$/.test(part)))
  );
}

const rank: Record<Plan['kind'], number> = { nothing: 0, ids: 1, keys: 2, range: 2, scan: 4 };

export type IndexPlan = Extract<Plan, { kind: 'keys' | 'range' }>;

function isIndexPlan(plan: Plan): plan is IndexPlan {
  return plan.kind === 'keys' || plan.kind === 'range';
}

/** How much of the filter a plan puts into the index read: breaks ties between estimates. */
function specificity(plan: IndexPlan): number {
  if (plan.kind === 'keys') return 1;
  return plan.equals.length + (plan.type === undefined ? 0 : 0.5);
}

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
 * How many index entries a plan would read, counted up to a cap: lets the planner choose between plans on
 * different indexes (e.g. `{facility, patientId}` with an index on each, or a facility's exams against one
 * day's) the way MongoDB's trial runs do, instead of by the order of the filter's fields.
 */
export type PlanEstimate = (plan: IndexPlan) => number;

export function planFilter(info: CollectionInfo | undefined, filter: Document, estimate?: PlanEstimate): Plan {
  if (info === undefined) return { kind: 'nothing' };
  let best: Plan = scan;
  let bestCost: number | undefined;
  const better = (plan: Plan | undefined): void => {
    if (plan === undefined) return;
    if (rank[plan.kind] !== rank[best.kind]) {
      if (rank[plan.kind] < rank[best.kind]) [best, bestCost] = [plan, undefined];
      return;
    }
    if (!isIndexPlan(plan) || !isIndexPlan(best)) return;
    // A unique index reads at most one entry per key: nothing is cheaper to find out.
    if (best.kind === 'keys' && best.index.unique) return;
    if (plan.kind === 'keys' && plan.index.unique) {
      [best, bestCost] = [plan, undefined];
      return;
    }
    if (estimate === undefined) {
      if (specificity(plan) > specificity(best)) best = plan;
      return;
    }
    bestCost ??= estimate(best);
    const cost = estimate(plan);
    if (cost < bestCost || (cost === bestCost && specificity(plan) > specificity(best)))
      [best, bestCost] = [plan, cost];
  };
  const conditions = byPath(filter);
  for (const condition of conditions.get('_id') ?? []) better(idPlan(condition));
  for (const index of info.indexes) {
    const first = index.fields[0]!.path;
    if (first === '_id' || !usable(index, 1)) continue;
    for (const condition of conditions.get(first) ?? []) better(keysPlan(index, condition));
    const range = rangePlan(index, conditions);
    if (range?.kind === 'range' && usable(index, range.equals.length + (range.type === undefined ? 0 : 1)))
      better(range);
  }
  return best;
}

/** An index read in sort order: equality on its first fields, then the sort keys as its next fields. */
export interface OrderedPlan {
  readonly index: IndexInfo;
  readonly equals: readonly KeyPart[];
  /** Bounds on the first sort field (the column after the equalities), so a date range reads only its days. */
  readonly range: { readonly type: number; readonly bounds: readonly Bound[] } | undefined;
  readonly order: ReadonlyArray<{ readonly column: number; readonly direction: 1 | -1 }>;
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
  const conditions = byPath(filter);
  let best: OrderedPlan | undefined;
  for (const index of info.indexes) {
    if (index.multikey || index.sparse || index.partial !== undefined) continue;
    const equals = equalityPrefix(index, conditions);
    const prefix = equals.length;
    if (prefix + sortKeys.length > index.fields.length) continue;
    if (!sortKeys.every(([path], i) => index.fields[prefix + i]!.path === path)) continue;
    const range = sortKeys.length > 0 ? boundsAt(index, prefix, conditions) : undefined;
    if (best !== undefined && narrowness(best) >= prefix + (range === undefined ? 0 : 0.5)) continue;
    best = {
      index,
      equals,
      range,
      order: sortKeys.map(([, direction], i) => ({ column: prefix + i, direction })),
    };
  }
  return best;
}

function narrowness(plan: OrderedPlan): number {
  return plan.equals.length + (plan.range === undefined ? 0 : 0.5);
}
