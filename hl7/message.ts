// A small typed accessor over one HL7 v2 message (v2.5.1 ch. 2.5–2.7). Segments are kept as arrays of
// encoded field text and split further only when a path reaches into them, which keeps parsing cheap on the
// hot path (the MLLP source reads only MSH, PID and OBR/ORC). Values are decoded on read and encoded on write.
//
// Paths: `SEG[occurrence]-field[repetition].component.subcomponent`, all 1-based, e.g. `PID-3`, `PID-3.1`,
// `PID-3[2].1`, `OBX[2]-5`, `MSH-9.1`. A `.` may stand for the `-` (`PID.3.1`). As in HAPI's Terser, a path
// that stops above a primitive means its first component and subcomponent: `PID-5` of `DOE^JOHN` is `DOE`;
// getEncoded() returns the whole encoded text of a level instead.
//
// Every read is linear in the message: a field is split into repetitions (and a repetition into components)
// once and kept while the field's text is unchanged, and segments are found by name through an index. A
// mapping that walks PID-3's repetitions one path at a time would otherwise split the whole field per step,
// which made a 100,000-repetition PID-3 cost minutes (issue 10).
import {
  defaultDelimiters,
  delimitersFrom,
  delimiterText,
  escapeValue,
  unescapeValue,
  type Delimiters,
  type HexDecoder,
} from './escape.ts';
import { parsePath, type Hl7Path } from './message-path.ts';
import { Hl7ParseError } from './parse-error.ts';

export { parsePath, type Hl7Path } from './message-path.ts';
export { Hl7ParseError } from './parse-error.ts';

/** One segment: fields[n] is field n as encoded text; fields[0] is the name. For MSH, fields[1] is MSH-1. */
export interface Segment {
  fields: string[];
}

/** One field's text split into repetitions, and those into components as they are first read. */
interface SplitField {
  text: string;
  repetitions: string[];
  components: Array<string[] | undefined>;
}

function splitSegments(text: string): string[] {
  // ch. 2.5.1: segments end with CR. LF and CRLF come from files and lenient senders; reading them too costs
  // nothing and avoids a whole message turning into one segment.
  return text.split(/\r\n|\r|\n/).filter((s) => s.length > 0);
}

/** The n-th (1-based) part of text split by a separator, without splitting past it. */
function nthPart(text: string, separator: string, n: number): string | undefined {
  if (n === 1) {
    const end = text.indexOf(separator);
    return end < 0 ? text : text.slice(0, end);
  }
  return text.split(separator, n)[n - 1];
}

function at<T>(list: T[], index: number, fill: T): T {
  while (list.length <= index) list.push(fill);
  return list[index]!;
}

/**
 * A message. Change its segments through set(), setEncoded() and addSegment(): the split fields and the index
 * by name are checked against the segment count and each field's text, not against edits made behind them.
 */
export class Hl7Message {
  readonly delimiters: Delimiters;
  readonly segments: Segment[];
  #decodeHex: HexDecoder | undefined;
  #byName: Map<string, Segment[]> | undefined;
  #indexedSegments = 0;
  readonly #split = new WeakMap<Segment, Array<SplitField | undefined>>();

  constructor(segments: Segment[], delimiters: Delimiters, decodeHex?: HexDecoder) {
    this.segments = segments;
    this.delimiters = delimiters;
    this.#decodeHex = decodeHex;
  }

  static parse(text: string, decodeHex?: HexDecoder): Hl7Message {
    const lines = splitSegments(text);
    const first = lines[0];
    if (first === undefined || !first.startsWith('MSH') || first.length < 8) {
      throw new Hl7ParseError('MSH: the message does not start with an MSH segment');
    }
    const fieldSep = first[3]!;
    const encodingEnd = first.indexOf(fieldSep, 4);
    const encoding = first.slice(4, encodingEnd < 0 ? undefined : encodingEnd);
    if (encoding.length < 4 || encoding.length > 5 || encoding.includes(fieldSep)) {
      throw new Hl7ParseError(`MSH-2: expected 4 or 5 encoding characters, got "${encoding}"`);
    }
    const delimiters = delimitersFrom(fieldSep, encoding);
    const segments = lines.map((line) => parseSegment(line, fieldSep));
    return new Hl7Message(segments, delimiters, decodeHex);
  }

  /** A new message with just an MSH carrying these delimiters (e.g. for building an ACK). */
  static create(delimiters: Delimiters = defaultDelimiters): Hl7Message {
    const d = delimiterText(delimiters);
    return new Hl7Message([{ fields: ['MSH', d[0]!, d.slice(1)] }], delimiters);
  }

  toString(): string {
    return `${this.segments.map((s) => serializeSegment(s, this.delimiters.field)).join('\r')}\r`;
  }

  /** Segments as arrays of encoded fields (index n = field n; for MSH, [1] and [2] are the delimiters). */
  toJSON(): { segments: string[][] } {
    return { segments: this.segments.map((s) => [...s.fields]) };
  }

  /** Rebuilds a message from the toJSON() shape, e.g. what a sandboxed JavaScript step returned. */
  static fromJSON(value: unknown, decodeHex?: HexDecoder): Hl7Message {
    const segmentsValue =
      typeof value === 'object' && value !== null ? (value as { segments?: unknown }).segments : undefined;
    if (!Array.isArray(segmentsValue)) throw new Hl7ParseError('segments: expected a list of segments');
    const segments = segmentsValue.map((segment: unknown, i) => ({ fields: jsonFields(segment, i) }));
    const msh = segments[0];
    if (msh?.fields[0] !== 'MSH') throw new Hl7ParseError('segments[0]: expected the MSH segment first');
    const field = msh.fields[1] ?? '';
    const encoding = msh.fields[2] ?? '';
    if (field.length !== 1 || encoding.length < 4 || encoding.length > 5) {
      throw new Hl7ParseError(
        'segments[0]: MSH[1] must be the field separator and MSH[2] the 4 or 5 encoding characters',
      );
    }
    for (const [i, segment] of segments.entries()) {
      for (const [f, text] of segment.fields.entries()) {
        if (i === 0 && f <= 2) continue;
        if (text.includes(field) || /[\r\n]/.test(text))
          throw new Hl7ParseError(`segments[${i}][${f}]: holds a field separator or line break (escape it)`);
      }
    }
    return new Hl7Message(segments, delimitersFrom(field, encoding), decodeHex);
  }

  segmentsNamed(name: string): readonly Segment[] {
    return this.#index().get(name) ?? [];
  }

  #index(): Map<string, Segment[]> {
    if (this.#byName !== undefined && this.#indexedSegments === this.segments.length) return this.#byName;
    const byName = new Map<string, Segment[]>();
    for (const segment of this.segments) {
      const name = segment.fields[0] ?? '';
      const list = byName.get(name);
      if (list) list.push(segment);
      else byName.set(name, [segment]);
    }
    this.#byName = byName;
    this.#indexedSegments = this.segments.length;
    return byName;
  }

  /** How many repetitions the field at a path has in the segment's first (or given) occurrence; 0 when empty. */
  repetitionCount(path: string): number {
    const p = parsePath(path);
    const segment = this.segmentsNamed(p.segment)[(p.occurrence ?? 1) - 1];
    return segment === undefined ? 0 : this.#repetitionCount(segment, p.field);
  }

  /** The decoded value at a path (first repetition/component/subcomponent when not given), or undefined. */
  get(path: string): string | undefined {
    const p = parsePath(path);
    const segment = this.segmentsNamed(p.segment)[(p.occurrence ?? 1) - 1];
    if (!segment) return undefined;
    return this.#valueIn(segment, p, p.repetition ?? 1);
  }

  /** `get` of one repetition of a repetition-free path: a mapping walking 1,000 repetitions reuses one parsed
   *  path instead of parsing `PID-5[517].1` a thousand times. */
  getRepetition(path: string, repetition: number): string | undefined {
    const p = parsePath(path);
    const segment = this.segmentsNamed(p.segment)[(p.occurrence ?? 1) - 1];
    if (!segment) return undefined;
    return this.#valueIn(segment, p, repetition);
  }

  /** Every non-empty decoded value at a path: all occurrences of the segment and all repetitions, unless indexed. */
  getAll(path: string): string[] {
    const p = parsePath(path);
    const all = this.segmentsNamed(p.segment);
    const segments = p.occurrence === undefined ? all : all.slice(p.occurrence - 1, p.occurrence);
    const values: string[] = [];
    for (const segment of segments) {
      const reps = p.repetition === undefined ? this.#repetitionCount(segment, p.field) : p.repetition;
      for (let r = p.repetition ?? 1; r <= reps; r++) {
        const v = this.#valueIn(segment, p, r);
        if (v !== undefined && v !== '') values.push(v);
      }
    }
    return values;
  }

  /** The encoded text at a path, delimiters and escapes intact (a whole field, repetition or component). */
  getEncoded(path: string): string | undefined {
    const p = parsePath(path);
    const segment = this.segmentsNamed(p.segment)[(p.occurrence ?? 1) - 1];
    if (!segment) return undefined;
    return this.#encodedIn(segment, p);
  }

  /** Sets a decoded value at a path (first repetition/component/subcomponent when not given, siblings kept),
   *  escaping it and creating the segment, field, repetition and components it needs. */
  set(path: string, value: string): void {
    const p = this.#writable(path);
    this.#write(
      p,
      { repetition: p.repetition ?? 1, component: p.component ?? 1, subcomponent: p.subcomponent ?? 1 },
      escapeValue(value, this.delimiters),
    );
  }

  /** Replaces the encoded text of exactly the level a path names, e.g. `DOE^JOHN` as the whole of `PID-5`. */
  setEncoded(path: string, encoded: string): void {
    const p = this.#writable(path);
    const repetition = p.repetition ?? (p.component === undefined ? undefined : 1);
    this.#write(p, { repetition, component: p.component, subcomponent: p.subcomponent }, encoded);
  }

  /** Appends a segment with the given encoded fields (fields[0] is field 1). */
  addSegment(name: string, fields: string[] = []): void {
    const segment = { fields: [name, ...fields] };
    const indexed = this.#byName !== undefined && this.#indexedSegments === this.segments.length;
    this.segments.push(segment);
    if (!indexed) return;
    const list = this.#byName!.get(name);
    if (list) list.push(segment);
    else this.#byName!.set(name, [segment]);
    this.#indexedSegments = this.segments.length;
  }

  #segmentFor(p: Hl7Path): Segment {
    const existing = this.segmentsNamed(p.segment);
    const wanted = p.occurrence ?? 1;
    for (let n = existing.length; n < wanted; n++) this.addSegment(p.segment);
    return this.segmentsNamed(p.segment)[wanted - 1]!;
  }

  #repetitionCount(segment: Segment, field: number): number {
    if (segment.fields[0] === 'MSH' && field <= 2) return 1;
    const split = this.#splitField(segment, field);
    return split === undefined || split.text === '' ? 0 : split.repetitions.length;
  }

  /** The field split into repetitions, from the cache while the field's text is the same. */
  #splitField(segment: Segment, field: number): SplitField | undefined {
    const text = segment.fields[field];
    if (text === undefined) return undefined;
    let fields = this.#split.get(segment);
    if (fields === undefined) {
      fields = [];
      this.#split.set(segment, fields);
    }
    const cached = fields[field];
    if (cached !== undefined && cached.text === text) return cached;
    const repetitions = text.split(this.delimiters.repetition);
    const split: SplitField = { text, repetitions, components: new Array<string[] | undefined>(repetitions.length) };
    fields[field] = split;
    return split;
  }

  /** The components of one repetition (1-based), or undefined when the field has fewer repetitions. */
  #components(segment: Segment, field: number, repetition: number): string[] | undefined {
    const split = this.#splitField(segment, field);
    const rep = split?.repetitions[repetition - 1];
    if (split === undefined || rep === undefined) return undefined;
    let components = split.components[repetition - 1];
    if (components === undefined) {
      components = rep.split(this.delimiters.component);
      split.components[repetition - 1] = components;
    }
    return components;
  }

  #encodedIn(segment: Segment, p: Hl7Path): string | undefined {
    const field = segment.fields[p.field];
    if (field === undefined) return undefined;
    if (segment.fields[0] === 'MSH' && p.field <= 2) return field;
    if (p.repetition === undefined && p.component === undefined) return field;
    const repetition = p.repetition ?? 1;
    if (p.component === undefined) return this.#splitField(segment, p.field)!.repetitions[repetition - 1];
    const comp = this.#components(segment, p.field, repetition)?.[p.component - 1];
    if (comp === undefined || p.subcomponent === undefined) return comp;
    return nthPart(comp, this.delimiters.subcomponent, p.subcomponent);
  }

  #valueIn(segment: Segment, p: Hl7Path, repetition: number): string | undefined {
    const field = segment.fields[p.field];
    if (field === undefined) return undefined;
    // MSH-1 and MSH-2 are the delimiters themselves: never split or decoded (ch. 2.14.9.1-2).
    if (segment.fields[0] === 'MSH' && p.field <= 2) return field;
    const comp = this.#components(segment, p.field, repetition)?.[(p.component ?? 1) - 1];
    if (comp === undefined) return undefined;
    const sub = nthPart(comp, this.delimiters.subcomponent, p.subcomponent ?? 1);
    if (sub === undefined) return undefined;
    return unescapeValue(sub, this.delimiters, this.#decodeHex);
  }

  #writable(path: string): Hl7Path {
    const p = parsePath(path);
    if (p.segment === 'MSH' && p.field <= 2)
      throw new Hl7ParseError(`${path}: MSH-1 and MSH-2 are the delimiters and cannot be set`);
    return p;
  }

  #write(p: Hl7Path, level: Pick<Hl7Path, 'repetition' | 'component' | 'subcomponent'>, text: string): void {
    const segment = this.#segmentFor(p);
    at(segment.fields, p.field, '');
    const d = this.delimiters;
    const separators = [d.repetition, d.component, d.subcomponent];
    const indexes = [level.repetition, level.component, level.subcomponent];
    segment.fields[p.field] = replaceAt(segment.fields[p.field]!, separators, indexes, text);
  }
}

/** Replaces one part of nested delimited text, padding with empty parts to reach it. */
function replaceAt(current: string, separators: string[], indexes: Array<number | undefined>, text: string): string {
  const index = indexes[0];
  const separator = separators[0];
  if (index === undefined || separator === undefined) return text;
  const parts = current === '' ? [''] : current.split(separator);
  const inner = at(parts, index - 1, '');
  parts[index - 1] = replaceAt(inner, separators.slice(1), indexes.slice(1), text);
  return parts.join(separator);
}

function jsonFields(segment: unknown, index: number): string[] {
  if (!Array.isArray(segment) || segment.length === 0)
    throw new Hl7ParseError(`segments[${index}]: expected a non-empty list of fields`);
  return segment
    .map((field: unknown, f) => {
      if (field === null || field === undefined) return '';
      if (typeof field !== 'string') throw new Hl7ParseError(`segments[${index}][${f}]: expected a string`);
      return field;
    })
    .map((field, f) => {
      if (f === 0 && !/^[A-Z][A-Z0-9]{2}$/.test(field))
        throw new Hl7ParseError(`segments[${index}][0]: "${field}" is not a segment name`);
      return field;
    });
}

function parseSegment(line: string, fieldSep: string): Segment {
  const parts = line.split(fieldSep);
  if (parts[0] === 'MSH') return { fields: ['MSH', fieldSep, ...parts.slice(1)] };
  return { fields: parts };
}

function serializeSegment(segment: Segment, fieldSep: string): string {
  const fields = segment.fields[0] === 'MSH' ? ['MSH', ...segment.fields.slice(2)] : segment.fields;
  return fields.join(fieldSep);
}
