// FHIR search parameters (R4 search.html) the hub supports, parsed into the exam service's typed queries, and
// the searchset Bundle with total and paging links. Paging is by offset (`_offset`), stable because every
// sort ends with the id.
import type { Bundle, BundleLink, Resource } from '@medplum/fhirtypes';
import type { DateRange } from '../exams/service.ts';
import { HttpError } from '../http/http-error.ts';
import { fhirError } from './outcome.ts';

export const defaultCount = 20;
export const maxCount = 1000;

/** R4 search.html#prefix on a date: the value's precision gives a range [start, end). */
export function parseDate(raw: string, name: string): DateRange {
  const match =
    /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?)$/.exec(
      raw,
    );
  if (!match?.[2])
    throw fhirError(
      400,
      'invalid',
      `${name}: expected a date such as ge2026-01-31 or 2026-01-31T10:00:00Z, got "${raw}"`,
      name,
    );
  const prefix = match[1] ?? 'eq';
  const [start, end] = precisionRange(match[2], name);
  switch (prefix) {
    case 'eq':
    case 'ap':
      return { from: start, before: end };
    case 'gt':
    case 'sa':
      return { from: end };
    case 'ge':
      return { from: start };
    case 'lt':
    case 'eb':
      return { before: start };
    case 'le':
      return { before: end };
    default:
      throw fhirError(400, 'not-supported', `${name}: the prefix "${prefix}" is not supported`, name);
  }
}

function precisionRange(value: string, name: string): [string, string] {
  const parts = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(T.*)?$/.exec(value);
  if (!parts) throw fhirError(400, 'invalid', `${name}: not a date: "${value}"`, name);
  const [, y, m, d, time] = parts;
  if (time) {
    const withZone = /Z|[+-]\d{2}:\d{2}$/.test(time) ? value : `${value}Z`;
    const at = Date.parse(withZone);
    if (Number.isNaN(at)) throw fhirError(400, 'invalid', `${name}: not a date: "${value}"`, name);
    const secondsGiven = /T\d{2}:\d{2}:\d{2}/.test(time);
    return [new Date(at).toISOString(), new Date(at + (secondsGiven ? 1_000 : 60_000)).toISOString()];
  }
  const year = Number(y);
  if (m === undefined) return [utc(year, 0, 1), utc(year + 1, 0, 1)];
  if (d === undefined) return [utc(year, Number(m) - 1, 1), utc(year, Number(m), 1)];
  return [utc(year, Number(m) - 1, Number(d)), utc(year, Number(m) - 1, Number(d) + 1)];
}

function utc(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month, day)).toISOString();
}

/** A token (`system|value`, `|value` or `value`). */
export function parseToken(raw: string): { system?: string; value: string } {
  const bar = raw.indexOf('|');
  if (bar < 0) return { value: raw };
  const system = raw.slice(0, bar);
  return system === '' ? { value: raw.slice(bar + 1) } : { system, value: raw.slice(bar + 1) };
}

export function parseCount(raw: string | null): number {
  if (raw === null) return defaultCount;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 0)
    throw fhirError(400, 'invalid', `_count: expected a whole number, got "${raw}"`, '_count');
  return Math.min(count, maxCount);
}

export function parseOffset(raw: string | null): number {
  if (raw === null) return 0;
  const offset = Number(raw);
  if (!Number.isInteger(offset) || offset < 0)
    throw fhirError(400, 'invalid', `_offset: expected a whole number, got "${raw}"`, '_offset');
  return offset;
}

/** `_sort=-authored,_lastUpdated` with the fields each resource allows. */
export function parseSort<F extends string>(
  raw: string | null,
  fields: Readonly<Record<string, F>>,
): Array<{ field: F; direction: 1 | -1 }> | undefined {
  if (raw === null || raw === '') return undefined;
  return raw.split(',').map((part) => {
    const descending = part.startsWith('-');
    const name = descending ? part.slice(1) : part;
    const field = fields[name];
    if (!field)
      throw fhirError(
        400,
        'not-supported',
        `_sort: cannot sort by "${name}" (supported: ${Object.keys(fields).join(', ')})`,
        '_sort',
      );
    return { field, direction: descending ? -1 : 1 };
  });
}

/** All values of a parameter, comma-separated ones split (R4 search.html#combining: comma is OR). */
export function values(params: URLSearchParams, name: string): string[][] {
  return params.getAll(name).map((v) => v.split(',').filter((x) => x !== ''));
}

export interface SearchsetOptions {
  base: string;
  type: string;
  params: URLSearchParams;
  total: number;
  offset: number;
  count: number;
}

export function searchset(resources: Resource[], options: SearchsetOptions): Bundle {
  const { base, type, params, total, offset, count } = options;
  const link = (relation: string, at: number): BundleLink => {
    const page = new URLSearchParams(params);
    page.set('_count', String(count));
    page.set('_offset', String(at));
    return { relation, url: `${base}/${type}?${page.toString()}` };
  };
  const links: BundleLink[] = [link('self', offset)];
  if (count > 0) {
    links.push(link('first', 0));
    if (offset + count < total) links.push(link('next', offset + count));
    if (offset > 0) links.push(link('previous', Math.max(0, offset - count)));
    links.push(link('last', total === 0 ? 0 : Math.floor((total - 1) / count) * count));
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: links,
    entry: resources.map((resource) => ({
      fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: 'match' },
    })),
  };
}

/** `Prefer: handling=lenient` (R4 search.html#errors, RFC 7240): drop what is not understood instead of failing. */
export function lenientHandling(prefer: string | undefined): boolean {
  return /(?:^|[\s,;])handling\s*=\s*"?lenient"?(?:$|[\s,;])/i.test(prefer ?? '');
}

/**
 * The parameters of a search the hub understands. An unknown or unsupported one (a modifier such as
 * `:missing` too) would otherwise be ignored and match everything: R4 search.html#errors lets the server refuse
 * it (400, each named in an issue), or, asked `handling=lenient`, leave it out, also from the `self` link, so the
 * client sees what was applied.
 */
export function supportedParameters(
  type: string,
  params: URLSearchParams,
  supported: ReadonlySet<string>,
  lenient: boolean,
): URLSearchParams {
  const unknown = [...new Set([...params.keys()].filter((name) => !supported.has(name)))];
  if (unknown.length === 0) return params;
  if (!lenient) {
    const list = [...supported].join(', ');
    const issues = unknown.map((name) => ({
      text: `${type} search: the parameter "${name}" is not supported (supported: ${list})`,
      path: name,
      code: 'not-supported',
    }));
    throw new HttpError(400, issues[0]!.text, { issues });
  }
  const kept = new URLSearchParams();
  for (const [name, value] of params) if (supported.has(name)) kept.append(name, value);
  return kept;
}
