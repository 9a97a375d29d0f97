// Filters made only of equalities (and $in lists) of plain values, or of one comparison ($gt, $gte, $lt,
// $lte) with a number, a date or a string, matched without mingo. Building a mingo Query sets up its operator
// context on every call, which was the largest store cost of a FHIR create after the writes (a patient read, an
// exam count per search), of reading a queue's next items (`seq > n`) and of finding events to publish
// (`outbox.id > ''`; CPU profiles of `npm run bench -- fhir` and `hl7`). What this file matches is MongoDB's
// condition on a path ("Query an Array for an Element", "Query on Embedded/Nested Documents"): the value at the
// path, or any element of an array along it, meets it; a comparison only meets values of its own type
// ("Comparison/Sort Order": type bracketing). Anything it is not sure about (documents or arrays as values,
// null, regexes, BSON number wrappers in the document, any other operator, two comparisons on one path, which
// different array elements may meet) goes to mingo: per filter when the filter has such a part, per document
// when the document has such a value. test/store/plain-matcher.test.ts compares the two.
import type { Document } from 'mongodb';
import { isObjectId } from './codec.ts';
import { isNarrowable, isPlainObject, MISSING, valuesAtPath } from './keys.ts';
import type { Matcher } from './matcher.ts';

type Plain = string | number | boolean | Date | { toHexString(): string; _bsontype: 'ObjectId' };

interface Clause {
  parts: string[];
  /** Whether one plain value at the path meets the condition. */
  meets: Meets;
}

const undecided = Symbol('undecided');

type Meets = (value: Plain) => boolean | typeof undecided;

/** A matcher for `filter` when it is a conjunction of the conditions above; undefined otherwise. */
export function plainMatcher(filter: Document, general: () => Matcher): Matcher | undefined {
  const clauses: Clause[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (key.startsWith('$') || key === '') return undefined;
    const meets = conditionTest(condition);
    if (meets === undefined) return undefined;
    clauses.push({ parts: key.split('.'), meets });
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

function conditionTest(condition: unknown): Meets | undefined {
  if (isPlain(condition)) return (value) => same(value, condition);
  if (!isPlainObject(condition)) return undefined;
  const keys = Object.keys(condition);
  if (keys.length !== 1) return undefined;
  const operator = keys[0]!;
  const operand = condition[operator];
  if (operator === '$eq') return isPlain(operand) ? (value) => same(value, operand) : undefined;
  if (operator === '$in') {
    if (!Array.isArray(operand) || operand.length === 0 || !operand.every(isPlain)) return undefined;
    return (value) => operand.some((wanted) => same(value, wanted));
  }
  if (operator === '$gt' || operator === '$gte' || operator === '$lt' || operator === '$lte')
    return comparison(operator, operand);
  return undefined;
}

/**
 * A comparison with a number, a valid date or a string; it meets only values of the operand's type, as
 * MongoDB's does. Strings compare by their UTF-8 bytes there and by UTF-16 units here, which agree unless a
 * character from U+D800 up is involved: such a string is left to mingo.
 */
function comparison(operator: '$gt' | '$gte' | '$lt' | '$lte', operand: unknown): Meets | undefined {
  const compare = comparatorFor(operand);
  if (compare === undefined) return undefined;
  return (value) => {
    const order = compare(value);
    if (order === undefined || order === undecided) return order ?? false;
    switch (operator) {
      case '$gt':
        return order > 0;
      case '$gte':
        return order >= 0;
      case '$lt':
        return order < 0;
      case '$lte':
        return order <= 0;
    }
  };
}

/** How a value orders against the operand: a sign, undefined for another type, undecided for mingo. */
function comparatorFor(operand: unknown): ((value: Plain) => number | undefined | typeof undecided) | undefined {
  if (typeof operand === 'number' && !Number.isNaN(operand)) {
    return (value) => (typeof value === 'number' ? order(value, operand) : undefined);
  }
  if (operand instanceof Date && !Number.isNaN(operand.getTime())) {
    const bound = operand.getTime();
    return (value) => (value instanceof Date ? order(value.getTime(), bound) : undefined);
  }
  if (typeof operand === 'string' && !beyondBmpOrder.test(operand)) {
    return (value) => {
      if (typeof value !== 'string') return undefined;
      if (beyondBmpOrder.test(value)) return undecided;
      return order(value, operand);
    };
  }
  return undefined;
}

function order<T extends number | string>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Characters whose UTF-16 order differs from their UTF-8 order (surrogates against U+E000..U+FFFF). */
const beyondBmpOrder = /[\uD800-\uFFFF]/;

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
    const verdict = clause.meets(value);
    if (verdict === undecided) return undecided;
    if (verdict) return true;
  }
  return false;
}

function same(value: Plain, wanted: Plain): boolean {
  if (value instanceof Date) return wanted instanceof Date && value.getTime() === wanted.getTime();
  if (isObjectId(value)) return isObjectId(wanted) && value.toHexString() === wanted.toHexString();
  return value === wanted;
}
