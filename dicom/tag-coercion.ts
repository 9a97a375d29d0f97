// Tag coercion on the way to the radiologist PACS: a copy of a stored instance with PatientID (0010,0020)
// and/or AccessionNumber (0008,0050) replaced, written to a temp file. Only the bytes before the last replaced
// element are parsed and rebuilt; the rest of the file (pixel data included) is streamed across unchanged, so
// memory does not grow with the instance. The stored original is never touched.
//
// Only little-endian data sets whose header can be walked are coerced (implicit and explicit VR, and the
// encapsulated syntaxes, whose header is explicit VR little endian, PS3.5 A.4). Deflated data sets (PS3.5
// A.5) would have to be inflated and deflated again, and explicit big endian is retired: those are sent as
// stored and the caller logs it.
import { closeSync, openSync, readSync, fstatSync, createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { readFileMetaSync, transferSyntax } from './part10.ts';

const explicitBigEndian = '1.2.840.10008.1.2.2';
const patientIdTag = 0x00100020;
const accessionNumberTag = 0x00080050;
/** The header up to PatientID is a few hundred bytes; a file that needs more than this is not worth coercing. */
const maxHeadBytes = 1024 * 1024;
const undefinedLength = 0xffffffff;
const longVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

export class CoercionUnsupported extends Error {}

export function canCoerce(transferSyntaxUid: string): boolean {
  return transferSyntaxUid !== transferSyntax.deflatedExplicitLittle && transferSyntaxUid !== explicitBigEndian;
}

/** The values to put in the copy; a tag left out keeps what the instance has. */
export interface TagChanges {
  /** LO, at most 64 characters (PS3.5 6.2). */
  patientId?: string;
  /** SH, at most 16 characters (PS3.5 6.2). */
  accessionNumber?: string;
}

interface Replacement {
  tag: number;
  vr: 'LO' | 'SH';
  value: string;
}

/** Writes `target`: `source` with PatientID set to `patientId` (added if absent). */
export function writeWithPatientId(source: string, target: string, patientId: string): Promise<void> {
  return writeCoerced(source, target, { patientId });
}

/** Writes `target`: `source` with each value of `changes` put in its element (added, in tag order, if absent). */
export async function writeCoerced(source: string, target: string, changes: TagChanges): Promise<void> {
  const replacements = replacementsOf(changes);
  const fd = openSync(source, 'r');
  let head: Buffer;
  let datasetOffset: number;
  let size: number;
  let ranges: Array<{ start: number; end: number }>;
  let implicit: boolean;
  try {
    const meta = readFileMetaSync(fd, source);
    if (!canCoerce(meta.transferSyntaxUid))
      throw new CoercionUnsupported(`${meta.transferSyntaxUid}: transfer syntax not coerced`);
    implicit = meta.transferSyntaxUid === transferSyntax.implicitLittle;
    datasetOffset = meta.datasetOffset;
    size = fstatSync(fd).size;
    head = Buffer.allocUnsafe(Math.min(maxHeadBytes, size - datasetOffset));
    const read = readSync(fd, head, 0, head.length, datasetOffset);
    head = head.subarray(0, read);
    const whole = read === size - datasetOffset;
    ranges = [];
    let from = 0;
    for (const replacement of replacements) {
      const range = findElement(head, replacement.tag, implicit, whole, from);
      ranges.push(range);
      from = range.end;
    }
  } finally {
    closeSync(fd);
  }
  const parts: Buffer[] = [await readPrefix(source, datasetOffset)];
  let copied = 0;
  replacements.forEach((replacement, i) => {
    const range = ranges[i]!;
    parts.push(head.subarray(copied, range.start), encodeText(replacement, implicit));
    copied = range.end;
  });
  const prefix = Buffer.concat(parts);
  await pipeline(async function* () {
    yield prefix;
    const restStart = datasetOffset + copied;
    if (restStart < size) yield* createReadStream(source, { start: restStart });
  }, createWriteStream(target));
}

/** In ascending tag order, as the data set keeps them (PS3.5 7.1). */
function replacementsOf(changes: TagChanges): Replacement[] {
  const list: Replacement[] = [];
  if (changes.accessionNumber !== undefined) {
    if (changes.accessionNumber.length > 16) {
      throw new CoercionUnsupported('AccessionNumber is longer than 16 characters (SH)');
    }
    list.push({ tag: accessionNumberTag, vr: 'SH', value: changes.accessionNumber });
  }
  if (changes.patientId !== undefined) {
    if (changes.patientId.length > 64) throw new CoercionUnsupported('PatientID is longer than 64 characters (LO)');
    list.push({ tag: patientIdTag, vr: 'LO', value: changes.patientId });
  }
  if (list.length === 0) throw new CoercionUnsupported('nothing to coerce');
  return list;
}

async function readPrefix(source: string, length: number): Promise<Buffer> {
  const fd = openSync(source, 'r');
  try {
    const bytes = Buffer.allocUnsafe(length);
    readSync(fd, bytes, 0, length, 0);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/**
 * Top-level position of `tag`: [start, end) of the element, or an empty range where it belongs (before the
 * first larger tag: PS3.5 7.1 keeps data elements in ascending tag order).
 */
export function findElement(
  head: Buffer,
  wanted: number,
  implicit: boolean,
  wholeDataset: boolean,
  from = 0,
): { start: number; end: number } {
  let offset = from;
  while (offset < head.length) {
    if (offset + 8 > head.length) break;
    const tag = tagAt(head, offset);
    if (tag > wanted) return { start: offset, end: offset };
    const { headerLength, length, vr } = elementHeader(head, offset, implicit);
    let end: number;
    if (length === undefinedLength) end = skipSequence(head, offset + headerLength, implicit || vr === 'UN');
    else end = offset + headerLength + length;
    if (end > head.length) break;
    if (tag === wanted) return { start: offset, end };
    offset = end;
  }
  if (wholeDataset && offset === head.length) return { start: offset, end: offset };
  const tag = `(${hex(wanted >>> 16)},${hex(wanted & 0xffff)})`;
  throw new CoercionUnsupported(`${tag} not found in the first ${head.length} bytes of the data set`);
}

function tagAt(buffer: Buffer, offset: number): number {
  return ((buffer.readUInt16LE(offset) << 16) | buffer.readUInt16LE(offset + 2)) >>> 0;
}

function elementHeader(
  buffer: Buffer,
  offset: number,
  implicit: boolean,
): { headerLength: number; length: number; vr: string } {
  if (implicit || buffer.readUInt16LE(offset) === 0xfffe)
    return { headerLength: 8, length: buffer.readUInt32LE(offset + 4), vr: '' };
  const vr = buffer.toString('latin1', offset + 4, offset + 6);
  if (longVrs.has(vr)) {
    if (offset + 12 > buffer.length) throw new CoercionUnsupported('data set header ends inside an element');
    return { headerLength: 12, length: buffer.readUInt32LE(offset + 8), vr };
  }
  return { headerLength: 8, length: buffer.readUInt16LE(offset + 6), vr };
}

/** From the first item of an undefined-length sequence to just after its delimiter (PS3.5 7.5.2). */
function skipSequence(buffer: Buffer, start: number, implicit: boolean): number {
  let offset = start;
  for (;;) {
    if (offset + 8 > buffer.length) return Number.MAX_SAFE_INTEGER;
    const tag = tagAt(buffer, offset);
    const length = buffer.readUInt32LE(offset + 4);
    if (tag === 0xfffee0dd) return offset + 8;
    if (tag !== 0xfffee000) throw new CoercionUnsupported(`unexpected element in a sequence at byte ${offset}`);
    offset = length === undefinedLength ? skipItem(buffer, offset + 8, implicit) : offset + 8 + length;
  }
}

function skipItem(buffer: Buffer, start: number, implicit: boolean): number {
  let offset = start;
  for (;;) {
    if (offset + 8 > buffer.length) return Number.MAX_SAFE_INTEGER;
    if (tagAt(buffer, offset) === 0xfffee00d) return offset + 8;
    const { headerLength, length, vr } = elementHeader(buffer, offset, implicit);
    offset =
      length === undefinedLength
        ? skipSequence(buffer, offset + headerLength, implicit || vr === 'UN')
        : offset + headerLength + length;
  }
}

function encodeText(replacement: Replacement, implicit: boolean): Buffer {
  const { tag, vr, value } = replacement;
  const text = Buffer.from(value.length % 2 === 1 ? `${value} ` : value, 'latin1');
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  if (implicit) header.writeUInt32LE(text.length, 4);
  else {
    header.write(vr, 4, 'latin1');
    header.writeUInt16LE(text.length, 6);
  }
  return Buffer.concat([header, text]);
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}
