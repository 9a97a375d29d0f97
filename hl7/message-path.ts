// Paths into an HL7 v2 message: `SEG[occurrence]-field[repetition].component.subcomponent`, all 1-based
// (v2.5.1 ch. 2.5-2.7 name fields so, e.g. PID-3.1), read by a hand-written parser and cached, because filters,
// mappings and the source read the same few paths for every message (message.ts says what each level means).
import { Hl7ParseError } from './parse-error.ts';

export interface Hl7Path {
  segment: string;
  /** 1-based occurrence of the segment; undefined means the first (get) or every one (getAll). */
  occurrence: number | undefined;
  field: number;
  /** 1-based; undefined means the first (get) or every one (getAll). */
  repetition: number | undefined;
  component: number | undefined;
  subcomponent: number | undefined;
}

// Filters, mappings and the source read the same few paths for every message; parsing each once is cheaper.
// Paths that name a repetition (`PID-3[517].1`) are not kept: a mapping walking a field's repetitions makes one
// per repetition, and they would fill the cache before the common paths of other channels got in.
const parsedPaths = new Map<string, Hl7Path>();
const maxCachedPaths = 1000;

export function parsePath(path: string): Hl7Path {
  const cached = parsedPaths.get(path);
  if (cached) return cached;
  const parsed = parsePathText(path);
  if (parsed.repetition === undefined && parsedPaths.size < maxCachedPaths)
    parsedPaths.set(path, Object.freeze(parsed));
  return parsed;
}

const digit0 = 48;
const digit9 = 57;

/** A hand-written reader of `SEG[n]-f[r].c.s`: a regular expression was a tenth of a mapping's time. */
function parsePathText(input: string): Hl7Path {
  const path = input.trim();
  const bad = (): Hl7ParseError =>
    new Hl7ParseError(`${input}: not an HL7 path (expected e.g. PID-3, PID-3.1, PID-3[2].1, OBX[2]-5)`);
  if (!/^[A-Z][A-Z0-9]{2}$/.test(path.slice(0, 3))) throw bad();
  let at = 3;
  /** Reads digits at `at`; undefined when there are none. */
  const number = (): number | undefined => {
    const from = at;
    while (at < path.length && path.charCodeAt(at) >= digit0 && path.charCodeAt(at) <= digit9) at++;
    return at === from || at - from > 9 ? undefined : Number(path.slice(from, at));
  };
  const bracketed = (): number | undefined => {
    if (path[at] !== '[') return undefined;
    at++;
    const value = number();
    if (value === undefined || path[at] !== ']') throw bad();
    at++;
    return value;
  };
  const dotted = (): number | undefined => {
    if (path[at] !== '.') return undefined;
    at++;
    const value = number();
    if (value === undefined) throw bad();
    return value;
  };
  const occurrence = bracketed();
  if (path[at] !== '-' && path[at] !== '.') throw bad();
  at++;
  const field = number();
  if (field === undefined) throw bad();
  const parsed: Hl7Path = {
    segment: path.slice(0, 3),
    occurrence,
    field,
    repetition: bracketed(),
    component: dotted(),
    subcomponent: dotted(),
  };
  if (at !== path.length) throw bad();
  for (const name of ['occurrence', 'field', 'repetition', 'component', 'subcomponent'] as const) {
    const value = parsed[name];
    if (value !== undefined && value < 1) throw new Hl7ParseError(`${input}: ${name} must be 1 or more`);
  }
  return parsed;
}
