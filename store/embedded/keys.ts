// Index keys. Each indexed value becomes a (type, value) pair: the type is the rank of its BSON type in
// MongoDB's comparison order ("Comparison/Sort Order" in the MongoDB manual), the value something SQLite
// compares the same way MongoDB compares values of that type (numbers numerically, strings by UTF-8 bytes,
// ObjectIds by their hex text, Dates by milliseconds). Queries on a type never reach rows of another type,
// which is MongoDB's type bracketing for $gt/$lt.
import { encodeDocument, isObjectId } from './codec.ts';

export const TYPE_NULL = 2;
export const TYPE_NUMBER = 3;
export const TYPE_STRING = 4;
export const TYPE_OBJECT = 5;
export const TYPE_ARRAY = 6;
export const TYPE_BINARY = 7;
export const TYPE_OBJECT_ID = 8;
export const TYPE_BOOLEAN = 9;
export const TYPE_DATE = 10;
export const TYPE_REGEX = 12;

export type KeyPart = readonly [type: number, value: number | string];

/** Marks a path that does not exist in the document (MongoDB indexes it as null; sparse indexes skip it). */
export const MISSING: unique symbol = Symbol('missing');
export type PathValue = unknown;

export function keyPart(value: unknown): KeyPart {
  if (value === null || value === undefined || value === MISSING) return [TYPE_NULL, 0];
  switch (typeof value) {
    case 'number':
      // SQLite binds NaN as NULL; MongoDB ranks NaN below every other number, as -Infinity is here.
      return [TYPE_NUMBER, Number.isNaN(value) ? -Infinity : value];
    case 'string':
      return [TYPE_STRING, value];
    case 'boolean':
      return [TYPE_BOOLEAN, value ? 1 : 0];
    default:
      break;
  }
  if (value instanceof Date) return [TYPE_DATE, value.getTime()];
  if (isObjectId(value)) return [TYPE_OBJECT_ID, value.toHexString()];
  if (value instanceof RegExp) return [TYPE_REGEX, `/${value.source}/${value.flags}`];
  if (value instanceof Uint8Array) return [TYPE_BINARY, Buffer.from(value).toString('base64')];
  if (Array.isArray(value)) return [TYPE_ARRAY, encodeDocument(value)];
  return [TYPE_OBJECT, encodeDocument(value)];
}

/** Values that the narrowing may look up in an index: one type, compared by SQLite as MongoDB would. */
export function isNarrowable(value: unknown): boolean {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return true;
  return value instanceof Date || isObjectId(value);
}

/**
 * Every value a multikey index holds for `path` in `doc`: arrays along the path fan out (`items.code` of
 * `{items: [{code: 'a'}, {code: 'b'}]}` gives 'a' and 'b'), and an array at the end gives its elements.
 * A path that leads nowhere gives MISSING.
 */
export function valuesAtPath(doc: unknown, parts: readonly string[], from = 0): unknown[] {
  if (from === parts.length) {
    if (!Array.isArray(doc)) return [doc];
    return doc.length === 0 ? [[]] : doc;
  }
  if (Array.isArray(doc)) {
    const found = doc.flatMap((element) => (isPlainObject(element) ? valuesAtPath(element, parts, from) : []));
    const index = parts[from] !== undefined && /^\d+$/.test(parts[from]) ? Number(parts[from]) : -1;
    if (index >= 0 && index < doc.length) found.push(...valuesAtPath(doc[index], parts, from + 1));
    const present = found.filter((value) => value !== MISSING);
    return present.length > 0 ? present : [MISSING];
  }
  if (!isPlainObject(doc)) return [MISSING];
  const key = parts[from] as string;
  if (!Object.hasOwn(doc, key)) return [MISSING];
  return valuesAtPath(doc[key], parts, from + 1);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
