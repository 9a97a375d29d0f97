// Errors shaped like the driver's MongoServerError (name, code, codeName, errmsg, keyPattern, keyValue), so
// callers handle both engines with one check: `isDuplicateKeyError(error)` from store/db.ts, or `error.code`.
import { DUPLICATE_KEY } from '../db.ts';

export class StoreError extends Error {
  override readonly name = 'MongoServerError';
  readonly code: number;
  readonly codeName: string;
  readonly errmsg: string;
  keyPattern?: Record<string, number>;
  keyValue?: Record<string, unknown>;

  constructor(code: number, codeName: string, message: string) {
    super(message);
    this.code = code;
    this.codeName = codeName;
    this.errmsg = message;
  }
}

/** MongoDB's wording, e.g. `E11000 duplicate key error collection: hub.exams index: number_1 dup key: { number: "X1" }`. */
export function duplicateKeyError(
  namespace: string,
  indexName: string,
  keyPattern: Record<string, number>,
  keyValue: Record<string, unknown>,
): StoreError {
  const shown = Object.entries(keyValue)
    .map(([field, value]) => `${field}: ${showValue(value)}`)
    .join(', ');
  const error = new StoreError(
    DUPLICATE_KEY,
    'DuplicateKey',
    `E11000 duplicate key error collection: ${namespace} index: ${indexName} dup key: { ${shown} }`,
  );
  error.keyPattern = keyPattern;
  error.keyValue = keyValue;
  return error;
}

function showValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (typeof value === 'object' && (value as { _bsontype?: unknown })._bsontype === 'ObjectId')
    return `ObjectId('${String(value)}')`;
  return JSON.stringify(value) ?? String(value);
}

export function badValue(message: string): StoreError {
  return new StoreError(2, 'BadValue', message);
}
