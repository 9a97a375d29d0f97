// The common update shapes applied directly: $set, $unset, $inc, $max, $addToSet (one plain value) and $push (one
// value, or $each alone) on plain field paths. mingo's update() builds its option and operator tables on every
// call, which was the largest single cost of draining a delivery queue (a lease, a sent mark and a counter per
// message; CPU profile of `npm run bench -- hl7`); every exam change appends its history entry and its outbox
// events with $push, so signing a report paid for those tables too (8.7 % of the main thread while reports were
// posted). Everything this file is not sure about (new or removed array elements, positional paths, integer-like
// field names, conflicting paths, BSON number wrappers, other operators and $push modifiers) goes to mingo
// unchanged, so the semantics stay mingo's; test/store/plain-update.test.ts compares the two on every shape
// handled here.
import type { Document } from 'mongodb';
import { isPlainObject } from './keys.ts';

const handled = new Set(['$set', '$unset', '$inc', '$max', '$addToSet', '$push']);
/** A segment MongoDB reads as an array index, and JS would reorder as an integer key of an object. */
const numericSegment = /^\d+$/;

interface Step {
  operator: string;
  parent: Document;
  /** Missing parents under `parent`, created on apply. */
  create: string[];
  field: string;
  value: unknown;
}

/**
 * Applies `operators` to `doc` when every part is a shape handled here, and returns the field paths it updated;
 * otherwise leaves `doc` untouched and returns undefined. All checks run before the first change, so a refusal
 * never leaves half an update. `paths`: plainUpdatePaths(operators), when the caller has it already.
 */
export function applyPlainUpdate(
  doc: Document,
  operators: Document,
  paths = plainUpdatePaths(operators),
): readonly string[] | undefined {
  if (paths === undefined) return undefined;
  const steps: Step[] = [];
  for (const [operator, fields] of Object.entries(operators) as [string, Document][]) {
    for (const [path, value] of Object.entries(fields)) {
      const step = locate(doc, operator, path, value);
      if (step === undefined) return undefined;
      steps.push(step);
    }
  }
  // Parents are created only now, after every step was found applicable.
  for (const step of steps) apply(step);
  return paths;
}

/**
 * The field paths `operators` would update if it is a shape handled here, judged from the update alone; the
 * document can still refuse it (applyPlainUpdate then returns undefined and changes nothing).
 */
export function plainUpdatePaths(operators: Document): string[] | undefined {
  const paths: string[] = [];
  for (const [operator, fields] of Object.entries(operators)) {
    if (!handled.has(operator) || !isPlainObject(fields)) return undefined;
    for (const [path, value] of Object.entries(fields)) {
      if (!plainPath(path) || !plainOperand(operator, value)) return undefined;
      paths.push(path);
    }
  }
  return conflicting(paths) ? undefined : paths;
}

function plainPath(path: string): boolean {
  if (path === '' || path === '_id' || path.startsWith('_id.')) return false;
  for (const segment of path.split('.')) {
    if (segment === '' || segment.startsWith('$')) return false;
  }
  return true;
}

function plainOperand(operator: string, value: unknown): boolean {
  if (operator === '$inc') return typeof value === 'number';
  if (operator === '$max') return typeof value === 'number' || value instanceof Date || asciiText(value);
  // One string, number or boolean: equal in BSON exactly when ===. Objects, arrays and $each go to mingo.
  if (operator === '$addToSet')
    return (
      typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && !Number.isNaN(value))
    );
  // A document to append, or $each alone; $position, $slice and $sort (and a document mixing $-keys with fields,
  // which the server refuses) go to mingo.
  if (operator === '$push') {
    if (!isPlainObject(value)) return value !== undefined;
    const keys = Object.keys(value);
    if (!keys.some((key) => key.startsWith('$'))) return true;
    return (
      keys.length === 1 && keys[0] === '$each' && Array.isArray(value['$each']) && !value['$each'].includes(undefined)
    );
  }
  // undefined is the driver's ignoreUndefined business; leave it to the general path.
  return value !== undefined;
}

/** The values a $push that plainOperand admitted appends: the elements of $each, or the one value. */
function pushed(value: unknown): unknown[] {
  return isPlainObject(value) && '$each' in value ? (value['$each'] as unknown[]) : [value];
}

/**
 * A string JS orders as MongoDB does: without a collation the server compares strings bytewise (UTF-8), which
 * is JS's code-unit order for printable ASCII (ISO timestamps, the common case: a study's last-received time).
 */
function asciiText(value: unknown): value is string {
  return typeof value === 'string' && /^[ -~]*$/.test(value);
}

/** MongoDB refuses `a` beside `a.b` in one update; mingo reports that, so such updates go there. */
function conflicting(paths: string[]): boolean {
  if (paths.length < 2) return false;
  const sorted = [...paths].sort();
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (current === previous || current.startsWith(`${previous}.`)) return true;
  }
  return false;
}

/**
 * Walks to the field's parent. Missing parents are created on apply (nothing to do for $unset). A numeric segment
 * is taken only as an existing element of an array (`destinations.0.state`, the per-destination state of a
 * message); anything else about arrays, and a parent that is null or a scalar, is mingo's case (padding, or the
 * server's "Cannot create field" error).
 */
function locate(doc: Document, operator: string, path: string, value: unknown): Step | undefined {
  const segments = path.split('.');
  const field = segments.pop()!;
  let parent: Document | unknown[] = doc;
  for (let i = 0; i < segments.length; i++) {
    const next = child(parent, segments[i]!);
    if (next === absent) return undefined;
    if (next === undefined) {
      if (Array.isArray(parent)) return undefined;
      if (operator === '$unset') return { operator, parent: {}, create: [], field, value };
      const create = segments.slice(i);
      if (create.some((segment) => numericSegment.test(segment)) || numericSegment.test(field)) return undefined;
      return { operator, parent, create, field, value };
    }
    if (!isPlainObject(next) && !Array.isArray(next)) return undefined;
    parent = next;
  }
  if (Array.isArray(parent)) {
    // Replacing an existing element is plain; $unset of one leaves a null in MongoDB, and a new index pads.
    if (operator === '$unset' || child(parent, field) === absent || child(parent, field) === undefined)
      return undefined;
  } else if (numericSegment.test(field)) {
    return undefined;
  }
  const container = parent as Document;
  if (!targetFits(operator, container[field], value)) return undefined;
  return { operator, parent: container, create: [], field, value };
}

const absent = Symbol('not a plain step');

/** The value under `segment`, undefined when missing, `absent` when the step is not one handled here. */
function child(parent: Document | unknown[], segment: string): unknown {
  if (Array.isArray(parent)) {
    if (!numericSegment.test(segment)) return absent;
    const index = Number(segment);
    return index < parent.length ? parent[index] : absent;
  }
  // An integer-like key would be placed first by JS but last by MongoDB.
  if (numericSegment.test(segment)) return absent;
  return parent[segment];
}

/** Creates the missing parents of a step; an earlier step of the same update may have made some already. */
function resolveParent(step: Step): Document {
  let current = step.parent;
  for (const segment of step.create) {
    const next: unknown = current[segment];
    if (isPlainObject(next)) {
      current = next;
      continue;
    }
    const created: Document = {};
    current[segment] = created;
    current = created;
  }
  return current;
}

function targetFits(operator: string, current: unknown, value: unknown): boolean {
  if (operator === '$inc') return current === undefined || typeof current === 'number';
  if (operator === '$addToSet' || operator === '$push') return current === undefined || Array.isArray(current);
  if (operator === '$max') {
    if (current === undefined) return true;
    if (typeof value === 'number') return typeof current === 'number';
    return value instanceof Date ? current instanceof Date : asciiText(current);
  }
  return true;
}

function apply(step: Step): void {
  const parent = resolveParent(step);
  const { field, value } = step;
  switch (step.operator) {
    case '$set':
      parent[field] = copy(value);
      return;
    case '$unset':
      delete parent[field];
      return;
    case '$inc':
      parent[field] = ((parent[field] as number | undefined) ?? 0) + (value as number);
      return;
    case '$addToSet': {
      const current = parent[field] as unknown[] | undefined;
      if (current === undefined) parent[field] = [value];
      else if (!current.includes(value)) current.push(value);
      return;
    }
    case '$push': {
      const current = parent[field] as unknown[] | undefined;
      const items = pushed(value).map(copy);
      if (current === undefined) parent[field] = items;
      else current.push(...items);
      return;
    }
    case '$max': {
      const current = parent[field] as number | Date | string | undefined;
      if (current === undefined || current < (value as number | Date | string)) parent[field] = copy(value);
      return;
    }
  }
}

/** The stored document must not share objects with the caller's update (the server never would). */
function copy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map(copy);
  if (isPlainObject(value)) {
    const result: Document = {};
    for (const [key, item] of Object.entries(value)) result[key] = copy(item);
    return result;
  }
  // ObjectId, Binary, Long and the other BSON values are treated as immutable, as the driver does.
  return value;
}
