// The driver accepts a sort as 'field', ['field', dir], [['a', 1], ['b', 'desc']], a Map or an object with
// 1/-1/'asc'/'desc'/'ascending'/'descending'; agenda passes { nextRunAt: 'asc', priority: 'desc' }. mingo wants
// an object of 1/-1.
import type { Sort } from 'mongodb';
import { badValue } from './errors.ts';

export type SortSpec = Record<string, 1 | -1>;

function direction(field: string, value: unknown): 1 | -1 {
  switch (value) {
    case 1:
    case 'asc':
    case 'ascending':
      return 1;
    case -1:
    case 'desc':
    case 'descending':
      return -1;
    default:
      throw badValue(`sort.${field}: expected 1, -1, 'asc' or 'desc', got ${JSON.stringify(value)}`);
  }
}

export function normalizeSort(sort: Sort | undefined): SortSpec | undefined {
  if (sort === undefined || sort === null) return undefined;
  const spec: SortSpec = {};
  const add = (field: string, value: unknown): void => {
    spec[field] = direction(field, value);
  };
  if (typeof sort === 'string') add(sort, 1);
  else if (sort instanceof Map) for (const [field, value] of sort) add(String(field), value);
  else if (Array.isArray(sort)) addArray(sort as unknown[], add);
  else for (const [field, value] of Object.entries(sort)) add(field, value);
  return Object.keys(spec).length > 0 ? spec : undefined;
}

function addArray(sort: unknown[], add: (field: string, value: unknown) => void): void {
  if (sort.length === 2 && typeof sort[0] === 'string' && !Array.isArray(sort[1]) && typeof sort[1] !== 'string') {
    add(sort[0], sort[1]);
    return;
  }
  if (
    sort.length === 2 &&
    typeof sort[0] === 'string' &&
    ['asc', 'desc', 'ascending', 'descending'].includes(String(sort[1]))
  ) {
    add(sort[0], sort[1]);
    return;
  }
  for (const item of sort) {
    if (typeof item === 'string') add(item, 1);
    else if (Array.isArray(item)) add(String(item[0]), item[1]);
    else throw badValue(`sort: unexpected entry ${JSON.stringify(item)}`);
  }
}
