// Walks a data set as it streams in (PS3.5 section 7), element header by element header, skipping values
// without looking at them, so a 20 MB pixel data element costs one header parse. It proves the stream is
// complete (every value and every undefined-length sequence/item/fragment list is closed) and keeps the few
// top-level values the hub routes on. Nested values are never decoded: matching does not need them.

/** Top-level attributes kept, by tag (group << 16 | element). */
export const headerTags = {
  specificCharacterSet: 0x00080005,
  sopClassUid: 0x00080016,
  sopInstanceUid: 0x00080018,
  studyDate: 0x00080020,
  studyTime: 0x00080030,
  accessionNumber: 0x00080050,
  modality: 0x00080060,
  institutionName: 0x00080080,
  studyDescription: 0x00081030,
  seriesDescription: 0x0008103e,
  patientName: 0x00100010,
  patientId: 0x00100020,
  /** Issuer of Patient ID (PS3.3 C.7.1.1): the assigning authority of PatientID, as HL7 CX-4 names it. */
  issuerOfPatientId: 0x00100021,
  patientBirthDate: 0x00100030,
  patientSex: 0x00100040,
  studyInstanceUid: 0x0020000d,
  seriesInstanceUid: 0x0020000e,
  studyId: 0x00200010,
  seriesNumber: 0x00200011,
  instanceNumber: 0x00200013,
  numberOfFrames: 0x00280008,
  rows: 0x00280010,
  columns: 0x00280011,
  bitsAllocated: 0x00280100,
} as const;

export type HeaderKey = keyof typeof headerTags;

/** The header keys an instance may lack; the SCP and the Part-10 reader both copy them when present. */
export const optionalHeaderKeys = [
  'patientId',
  'issuerOfPatientId',
  'patientName',
  'patientBirthDate',
  'patientSex',
  'accessionNumber',
  'studyDate',
  'studyTime',
  'studyId',
  'studyDescription',
  'seriesDescription',
  'seriesNumber',
  'instanceNumber',
  'modality',
  'institutionName',
  'numberOfFrames',
  'rows',
  'columns',
  'bitsAllocated',
] as const satisfies readonly HeaderKey[];

/** US values (binary, little endian in every transfer syntax the hub stores), given as decimal text. */
const unsignedShortKeys: ReadonlySet<HeaderKey> = new Set(['rows', 'columns', 'bitsAllocated']);

const keyByTag = new Map<number, HeaderKey>(Object.entries(headerTags).map(([key, tag]) => [tag, key as HeaderKey]));

/** Explicit VRs whose length field is 4 bytes after 2 reserved bytes (PS3.5 table 7.1-1). */
const longVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

const undefinedLength = 0xffffffff;
const itemTag = 0xfffee000;
const itemDelimiter = 0xfffee00d;
const sequenceDelimiter = 0xfffee0dd;
/** Values longer than this are not identifiers; do not keep them even if the tag matches. */
const maxKeptValue = 1024;

export class DatasetWalker {
  readonly #implicitRoot: boolean;
  /** One entry per open undefined-length element or item: whether its content is implicit VR. */
  readonly #open: boolean[] = [];
  #header = Buffer.alloc(12);
  #headerFill = 0;
  #skip = 0;
  #keep: { key: HeaderKey; bytes: Buffer; fill: number } | undefined;
  readonly values = new Map<HeaderKey, Buffer>();
  bytes = 0;

  constructor(implicitVr: boolean) {
    this.#implicitRoot = implicitVr;
  }

  /** Throws with the offset and reason if the bytes cannot be a data set. */
  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#skip > 0) {
        offset = this.#consumeValue(chunk, offset);
        continue;
      }
      offset = this.#readHeader(chunk, offset);
    }
  }

  /** Throws if the data set stopped inside an element, item or sequence. */
  end(): void {
    if (this.#skip > 0 || this.#headerFill > 0)
      throw new Error(`data set truncated: ends inside an element (byte ${this.bytes})`);
    if (this.#open.length > 0)
      throw new Error(`data set truncated: ${this.#open.length} undefined-length sequence/item(s) not closed`);
  }

  get #implicit(): boolean {
    return this.#open.length > 0 ? (this.#open[this.#open.length - 1] ?? false) : this.#implicitRoot;
  }

  #consumeValue(chunk: Buffer, offset: number): number {
    const take = Math.min(this.#skip, chunk.length - offset);
    const keep = this.#keep;
    if (keep !== undefined) {
      chunk.copy(keep.bytes, keep.fill, offset, offset + take);
      keep.fill += take;
      if (keep.fill === keep.bytes.length) {
        this.values.set(keep.key, keep.bytes);
        this.#keep = undefined;
      }
    }
    this.#skip -= take;
    return offset + take;
  }

  #readHeader(chunk: Buffer, offset: number): number {
    const needed = this.#headerLength();
    const take = Math.min(needed - this.#headerFill, chunk.length - offset);
    chunk.copy(this.#header, this.#headerFill, offset, offset + take);
    this.#headerFill += take;
    // The first 6 bytes tell an explicit-VR header whether it is 8 or 12 long; read again with the full need.
    if (this.#headerFill < this.#headerLength()) return offset + take;
    this.#element();
    this.#headerFill = 0;
    return offset + take;
  }

  #headerLength(): number {
    if (this.#headerFill < 6) return 8;
    const group = this.#header.readUInt16LE(0);
    if (group === 0xfffe || this.#implicit) return 8;
    return longVrs.has(this.#header.toString('latin1', 4, 6)) ? 12 : 8;
  }

  #element(): void {
    const header = this.#header;
    const tag = ((header.readUInt16LE(0) << 16) | header.readUInt16LE(2)) >>> 0;
    if (tag === itemDelimiter || tag === sequenceDelimiter) {
      if (this.#open.pop() === undefined)
        throw new Error(`data set: delimiter ${hexTag(tag)} outside a sequence at byte ${this.bytes}`);
      return;
    }
    const implicit = this.#implicit || header.readUInt16LE(0) === 0xfffe;
    let vr = '';
    let length: number;
    if (implicit) {
      length = header.readUInt32LE(4);
    } else {
      vr = header.toString('latin1', 4, 6);
      if (!/^[A-Z]{2}$/.test(vr)) throw new Error(`data set: ${hexTag(tag)} has no valid VR at byte ${this.bytes}`);
      length = longVrs.has(vr) ? header.readUInt32LE(8) : header.readUInt16LE(6);
    }
    if (length === undefinedLength) {
      // Content of an undefined-length UN is implicit VR little endian (PS3.5 6.2.2); items inherit their parent.
      if (tag === itemTag) this.#open.push(this.#implicit);
      else this.#open.push(this.#implicit || vr === 'UN');
      return;
    }
    if (tag !== itemTag && tag >>> 16 === 0xfffe)
      throw new Error(`data set: unexpected ${hexTag(tag)} at byte ${this.bytes}`);
    this.#skip = length;
    const key = this.#open.length === 0 ? keyByTag.get(tag) : undefined;
    if (key !== undefined && length <= maxKeptValue && length > 0)
      this.#keep = { key, bytes: Buffer.allocUnsafe(length), fill: 0 };
  }
}

function hexTag(tag: number): string {
  const text = tag.toString(16).padStart(8, '0').toUpperCase();
  return `(${text.slice(0, 4)},${text.slice(4)})`;
}

/** PS3.5 6.1.2.3: ISO_IR 192 is UTF-8; the default repertoire and ISO_IR 100 both decode as latin1. Other
 * character sets (ISO 2022 escapes) are decoded as latin1 too: identifiers are ASCII in practice. */
export function headerText(values: ReadonlyMap<HeaderKey, Buffer>, key: HeaderKey): string | undefined {
  const bytes = values.get(key);
  if (bytes === undefined) return undefined;
  if (unsignedShortKeys.has(key)) return bytes.length >= 2 ? String(bytes.readUInt16LE(0)) : undefined;
  const charset = values.get('specificCharacterSet')?.toString('latin1') ?? '';
  const encoding = charset.includes('ISO_IR 192') ? 'utf8' : 'latin1';
  const text = bytes
    .toString(encoding)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  return text === '' ? undefined : text;
}
