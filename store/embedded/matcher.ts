// Filters are compiled by mingo (plain ones excepted, see compileFilter), with one correction: mingo compares
// embedded documents without regard to field order, MongoDB with it ("Query on Embedded/Nested Documents":
// equality on an embedded document requires an exact match, including the field order). So an equality on a
// document or an array must also match byte for byte in our encoding.
import { Query } from 'mingo';
import type { Document } from 'mongodb';
import { encodeDocument, withDriverObjectIds } from './codec.ts';
import { plainMatcher } from './plain-matcher.ts';
import { badValue } from './errors.ts';
import { isPlainObject } from './keys.ts';
import { queryOptions } from './query-options.ts';

export interface Matcher {
  test(doc: Document): boolean;
}

export function compileFilter(given: Document): Matcher {
  // Plain equalities and comparisons are matched directly (plain-matcher.ts); mingo only when they meet a value
  // they leave to it.
  return plainMatcher(given, () => compileGeneral(given)) ?? compileGeneral(given);
}

function compileGeneral(given: Document): Matcher {
  const filter = withDriverObjectIds(given);
  let query: Query;
  try {
    query = new Query(filter, queryOptions);
  } catch (error) {
    throw badValue(`filter: ${error instanceof Error ? error.message : String(error)}`);
  }
  const exact = exactEqualities(filter);
  if (exact.length === 0) return query;
  return {
    test: (doc) =>
      query.test(doc) &&
      exact.every(([parts, text]) => valuesForEquality(doc, parts, 0).some((value) => encodeDocument(value) === text)),
  };
}

function isExactCondition(value: unknown): boolean {
  if (Array.isArray(value)) return value.some((item) => isPlainObject(item) || Array.isArray(item));
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 1 && !keys[0]!.startsWith('$');
}

/** [path parts, encoded value] of each top-level (or $and) equality whose value is a document. */
function exactEqualities(filter: Document, out: Array<[string[], string]> = []): Array<[string[], string]> {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(condition)) {
      for (const part of condition) if (isPlainObject(part)) exactEqualities(part, out);
    } else if (!key.startsWith('$')) {
      const value =
        isPlainObject(condition) && Object.keys(condition).length === 1 && '$eq' in condition
          ? condition['$eq']
          : condition;
      if (isExactCondition(value)) out.push([key.split('.'), encodeDocument(value)]);
    }
  }
  return out;
}

/** The values an equality at `parts` is compared with: the value itself and, for an array, each element. */
function valuesForEquality(doc: unknown, parts: readonly string[], from: number): unknown[] {
  if (from === parts.length) return Array.isArray(doc) ? [doc, ...doc] : [doc];
  if (Array.isArray(doc)) {
    const key = parts[from]!;
    const viaIndex = /^\d+$/.test(key) ? valuesForEquality(doc[Number(key)], parts, from + 1) : [];
    return [...viaIndex, ...doc.flatMap((item) => (isPlainObject(item) ? valuesForEquality(item, parts, from) : []))];
  }
  if (!isPlainObject(doc)) return [];
  return valuesForEquality(doc[parts[from]!], parts, from + 1);
}
