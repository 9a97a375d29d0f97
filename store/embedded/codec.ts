// Documents are stored as JSON text. JSON alone loses the BSON types the hub uses (a Date becomes a string, an
// ObjectId a hex string), so a replacer tags them and a reviver restores them. Dates are tagged with their
// millisecond number rather than EJSON's ISO string so that years before 1970 or after 9999 need no special form.
// The bson classes come from the driver ('mongodb' re-exports its CommonJS copy of bson), not from an ESM
// `import 'bson'`: the two loads are different classes, and mingo compares ObjectIds only within one class.
// Documents therefore come back with the same ObjectId class the official driver returns.
import { Binary, BSON, ObjectId, type Document } from 'mongodb';
import { StoreError } from './errors.ts';

interface BsonLike {
  _bsontype: string;
}

function isBsonValue(value: object): value is BsonLike {
  return typeof (value as { _bsontype?: unknown })._bsontype === 'string';
}

export function isObjectId(value: unknown): value is ObjectId {
  return typeof value === 'object' && value !== null && (value as { _bsontype?: unknown })._bsontype === 'ObjectId';
}

/**
 * The JSON-ready form of a value: BSON types become tagged objects; containers are copied only where something
 * inside them changed. A walk plus a plain JSON.stringify is several times faster than a stringify replacer.
 */
function toTagged(value: unknown, field: string): unknown {
  switch (typeof value) {
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value)) return taggedArray(value, field);
      return Object.getPrototypeOf(value) === Object.prototype
        ? taggedObject(value as Record<string, unknown>)
        : tagInstance(value);
    case 'undefined':
      // The driver's default (ignoreUndefined: false) stores undefined as null; keep the same document shape.
      return null;
    case 'number':
      return Number.isFinite(value) ? value : { $double: String(value) };
    case 'bigint':
      throw new TypeError(`field '${field}': bigint values cannot be stored; use a number or a bson Long`);
    case 'function':
    case 'symbol':
      return undefined;
    default:
      return value;
  }
}

function taggedArray(array: unknown[], field: string): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    const tagged = toTagged(item, field);
    if (tagged === item) continue;
    copy ??= array.slice();
    copy[i] = tagged;
  }
  return copy ?? array;
}

function taggedObject(object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in object) {
    const item = object[key];
    const tagged = toTagged(item, key);
    if (tagged === item) continue;
    copy ??= { ...object };
    copy[key] = tagged;
  }
  return copy ?? object;
}

function tagInstance(value: object): unknown {
  if (value instanceof Date) return { $date: value.getTime() };
  if (isObjectId(value)) return { $oid: value.toHexString() };
  if (value instanceof RegExp) return { $regex: value.source, $options: value.flags };
  if (value instanceof Uint8Array) return { $ejson: BSON.EJSON.serialize(new Binary(value), { relaxed: false }) };
  if (isBsonValue(value)) return { $ejson: BSON.EJSON.serialize(value, { relaxed: false }) };
  // Any other class instance is stored like the driver stores it: its own enumerable fields.
  return taggedObject({ ...(value as Record<string, unknown>) });
}

/** The BSON value a tagged object stands for, or undefined when it is an ordinary object. */
function untag(tagged: Record<string, unknown>): unknown {
  if (typeof tagged['$date'] === 'number') return new Date(tagged['$date']);
  if (typeof tagged['$oid'] === 'string') return ObjectId.createFromHexString(tagged['$oid']);
  if (typeof tagged['$regex'] === 'string') return new RegExp(tagged['$regex'], String(tagged['$options'] ?? ''));
  if (typeof tagged['$double'] === 'string') return Number(tagged['$double']);
  if (tagged['$ejson'] !== undefined) return BSON.EJSON.deserialize(tagged['$ejson'] as Document, { relaxed: false });
  return undefined;
}

/** Restores tagged values in place; a walk over the parsed tree is cheaper than a JSON.parse reviver. */
function revive(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (key.charCodeAt(0) === 36 /* $ */) {
      const restored = untag(object);
      if (restored !== undefined) return restored;
      break;
    }
  }
  for (const key in object) {
    const item = object[key];
    if (typeof item === 'object' && item !== null) object[key] = revive(item);
  }
  return object;
}

/**
 * Replaces ObjectIds of another bson load (a caller's `import { ObjectId } from 'bson'`) by the driver's class,
 * so that filters compare equal to stored values. Returns the input itself when there is nothing to replace.
 */
export function withDriverObjectIds<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (isObjectId(value))
    return (value instanceof ObjectId ? value : ObjectId.createFromHexString((value as ObjectId).toHexString())) as T;
  if (Array.isArray(value)) {
    const mapped = value.map(withDriverObjectIds);
    return (mapped.every((item, i) => item === value[i]) ? value : mapped) as T;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const mapped = withDriverObjectIds(item);
    if (mapped === item) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    copy[key] = mapped;
  }
  return (copy ?? value) as T;
}

export function encodeDocument(doc: unknown): string {
  return JSON.stringify(toTagged(doc, '')) ?? 'null';
}

export function decodeDocument<T = Document>(text: string): T {
  // Most documents carry no tagged value at all; they need no walk.
  const parsed: unknown = JSON.parse(text);
  return (text.includes('"$') ? revive(parsed) : parsed) as T;
}

/**
 * The text that identifies an `_id` in the primary-key column. Two `_id`s are the same document exactly when
 * MongoDB's equality says so: 1 and 1.0 are one key, the string '1' another, an ObjectId a third.
 */
export function idKey(id: unknown): string {
  if (isObjectId(id)) return `o${id.toHexString()}`;
  switch (typeof id) {
    case 'string':
      return `s${id}`;
    case 'number':
      return `n${Object.is(id, -0) ? 0 : id}`;
    case 'boolean':
      return `b${id}`;
    default:
      break;
  }
  if (id instanceof Date) return `d${id.getTime()}`;
  if (id === null || id === undefined) return 'z';
  if (Array.isArray(id)) throw new StoreError(2, 'BadValue', `The '_id' value cannot be of type array`);
  return `j${encodeDocument(id)}`;
}
