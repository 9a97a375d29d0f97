// Filters made only of equalities (and $in lists) of plain values, matched without mingo. Building a mingo Query
// sets up its operator context on every call, which was the largest store cost of a FHIR create after the
// writes (a patient read, an exam count per search; CPU profile of `npm run bench -- fhir`). What this file
// matches is MongoDB's equality on a path ("Query an Array for an Element", "Query on Embedded/Nested
// Documents"): the value at the path, or any element of an array along it, equals the query value. Anything it
// is not sure about (documents or arrays as values, null, regexes, BSON number wrappers in the document, any
// other operator) goes to mingo: per filter when the filter has such a part, per document when the document
// has such a value. test/store/equality-matcher.test.ts compares the two.
import type { Document } from 'mongodb';
import { isObjectId } from './codec.ts';
import { isNarrowable, isPlainObject, MISSING, valuesAtPath } from './keys.ts';
import type { Matcher } from './matcher.ts';

type Plain = string | number | boolean | Date | { toHexString(): string; _bsontype: 'ObjectId' };

interface Clause {
  parts: string[];
  /** Any of these (one for an equality, the list for $in). */
  anyOf: Plain[];
}

const undecided = Symbol('undecided');

/** A matcher for `filter` when it is a conjunction of plain equalities; undefined otherwise. */
export function equalityMatcher(filter: Document, general: () => Matcher): Matcher | undefined {
  const clauses: Clause[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (key.startsWith('$') || key === '') return undefined;
    const anyOf = plainValues(condition);
    if (anyOf === undefined) return undefined;
    clauses.push({ parts: key.split('.'), anyOf });
  }
  let fallback: Matcher | undefined;
  return {
    test(doc: Document): boolean {
      for (const clause of clauses) {
        const verdict = matches(doc, clause);
        if (verdict === undecided) {
          fallback ??= general();
          return fallback.test(doc);
        }
        if (!verdict) return false;
      }
      return true;
    },
  };
}

function plainValues(condition: unknown): Plain[] | undefined {
  if (isPlain(condition)) return [condition];
  if (!isPlainObject(condition)) return undefined;
  const keys = Object.keys(condition);
  if (keys.length !== 1) return undefined;
  const operand = condition[keys[0]!];
  if (keys[0] === '$eq') return isPlain(operand) ? [operand] : undefined;
  if (keys[0] === '$in' && Array.isArray(operand) && operand.length > 0 && operand.every(isPlain)) return operand;
  return undefined;
}

/** A value the index narrowing also takes (keys.ts), without NaN and invalid dates, which never equal themselves. */
function isPlain(value: unknown): value is Plain {
  if (!isNarrowable(value)) return false;
  if (typeof value === 'number') return !Number.isNaN(value);
  return !(value instanceof Date) || !Number.isNaN(value.getTime());
}

function matches(doc: Document, clause: Clause): boolean | typeof undecided {
  for (const value of valuesAtPath(doc, clause.parts)) {
    if (value === MISSING) continue;
    if (!isPlain(value)) {
      // A sub-document, an array (an empty one, or one inside an array), null or a BSON wrapper: compared with
      // a plain query value it is unequal, except for wrappers (Long 5 equals 5), so let mingo decide.
      if (value === null || isPlainObject(value) || Array.isArray(value)) continue;
      return undecided;
    }
    if (clause.anyOf.some((wanted) => same(value, wanted))) return true;
  }
  return false;
}

function same(value: Plain, wanted: Plain): boolean {
  if (value instanceof Date) return wanted instanceof Date && value.getTime() === wanted.getTime();
  if (isObjectId(value)) return isObjectId(wanted) && value.toHexString() === wanted.toHexString();
  return value === wanted;
}
