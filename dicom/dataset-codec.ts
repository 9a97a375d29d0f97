// Small data sets in and out of memory, for the query services (C-FIND identifiers, PS3.4 C.4.1.1.3): decoded
// into elements keyed by tag, sequences included, and encoded back in implicit or explicit VR little endian
// (PS3.5 7.1). Implicit VR names no VR, so it comes from dcmjs's data dictionary. Instances never pass through
// here: they stream through dicom/dataset-walker.ts; an identifier is a few hundred bytes.
import dcmjs from 'dcmjs';

export interface DataElement {
  vr: string;
  /** Text VRs: the value with its padding removed; SQ: the items; other VRs: the bytes. */
  value: string | Dataset[] | Buffer;
}

/** Elements by 8-digit upper-case hex tag (`00100010`). */
export type Dataset = Map<string, DataElement>;

const longVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const binaryVrs = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'UN',
  'US',
  'SS',
  'UL',
  'SL',
  'FL',
  'FD',
  'AT',
  'SV',
  'UV',
]);
const undefinedLength = 0xffffffff;

export class DatasetError extends Error {}

export function vrOf(tag: string): string {
  if (tag.endsWith('0000')) return 'UL';
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`];
  return entry?.vr.slice(0, 2) ?? 'UN';
}

export function decodeDataset(bytes: Buffer, implicit: boolean): Dataset {
  const reader = { bytes, offset: 0, implicit, utf8: false };
  const dataset = readElements(reader, bytes.length);
  return dataset;
}

interface Reader {
  bytes: Buffer;
  offset: number;
  implicit: boolean;
  utf8: boolean;
}

function need(reader: Reader, count: number): void {
  if (reader.offset + count > reader.bytes.length)
    throw new DatasetError(`data set truncated at byte ${reader.offset}`);
}

function readElements(reader: Reader, end: number): Dataset {
  const dataset: Dataset = new Map();
  while (reader.offset < end) {
    need(reader, 8);
    const { bytes } = reader;
    const group = bytes.readUInt16LE(reader.offset);
    const element = bytes.readUInt16LE(reader.offset + 2);
    if (group === 0xfffe && element === 0xe00d) {
      reader.offset += 8;
      return dataset;
    }
    const tag = (group.toString(16).padStart(4, '0') + element.toString(16).padStart(4, '0')).toUpperCase();
    let vr: string;
    let length: number;
    if (reader.implicit) {
      vr = vrOf(tag);
      length = bytes.readUInt32LE(reader.offset + 4);
      reader.offset += 8;
    } else {
      vr = bytes.toString('latin1', reader.offset + 4, reader.offset + 6);
      if (!/^[A-Z]{2}$/.test(vr)) throw new DatasetError(`(${tag}) has no valid VR`);
      if (longVrs.has(vr)) {
        need(reader, 12);
        length = bytes.readUInt32LE(reader.offset + 8);
        reader.offset += 12;
      } else {
        length = bytes.readUInt16LE(reader.offset + 6);
        reader.offset += 8;
      }
    }
    if (vr === 'SQ' || (length === undefinedLength && vr === 'UN')) {
      dataset.set(tag, { vr: 'SQ', value: readItems(reader, length) });
      continue;
    }
    if (length === undefinedLength) throw new DatasetError(`(${tag}) has an undefined length`);
    need(reader, length);
    const value = bytes.subarray(reader.offset, reader.offset + length);
    reader.offset += length;
    if (tag === '00080005') reader.utf8 = value.toString('latin1').includes('ISO_IR 192');
    dataset.set(tag, { vr, value: binaryVrs.has(vr) ? Buffer.from(value) : text(value, reader.utf8) });
  }
  return dataset;
}

function readItems(reader: Reader, length: number): Dataset[] {
  const end = length === undefinedLength ? reader.bytes.length : reader.offset + length;
  const items: Dataset[] = [];
  while (reader.offset < end) {
    need(reader, 8);
    const group = reader.bytes.readUInt16LE(reader.offset);
    const element = reader.bytes.readUInt16LE(reader.offset + 2);
    const itemLength = reader.bytes.readUInt32LE(reader.offset + 4);
    reader.offset += 8;
    if (group === 0xfffe && element === 0xe0dd) return items;
    if (group !== 0xfffe || element !== 0xe000)
      throw new DatasetError(`sequence holds (${group.toString(16)},${element.toString(16)}), not an item`);
    items.push(readElements(reader, itemLength === undefinedLength ? reader.bytes.length : reader.offset + itemLength));
  }
  if (length === undefinedLength) throw new DatasetError('sequence not closed');
  return items;
}

function text(value: Buffer, utf8: boolean): string {
  return value
    .toString(utf8 ? 'utf8' : 'latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
}

/** Encodes in tag order with explicit lengths; text as UTF-8 (the caller puts ISO_IR 192 in (0008,0005)). */
export function encodeDataset(dataset: Dataset, implicit: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const tag of [...dataset.keys()].sort()) {
    const { vr, value } = dataset.get(tag)!;
    let body: Buffer;
    if (Array.isArray(value)) {
      body = Buffer.concat(value.map((item) => itemBytes(encodeDataset(item, implicit))));
    } else if (Buffer.isBuffer(value)) {
      body = value.length % 2 === 1 ? Buffer.concat([value, Buffer.alloc(1)]) : value;
    } else {
      const raw = Buffer.from(value, 'utf8');
      body = raw.length % 2 === 1 ? Buffer.concat([raw, Buffer.from(vr === 'UI' ? '\0' : ' ')]) : raw;
    }
    parts.push(header(tag, vr, body.length, implicit), body);
  }
  return Buffer.concat(parts);
}

function itemBytes(content: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0xfffe, 0);
  head.writeUInt16LE(0xe000, 2);
  head.writeUInt32LE(content.length, 4);
  return Buffer.concat([head, content]);
}

function header(tag: string, vr: string, length: number, implicit: boolean): Buffer {
  const group = Number.parseInt(tag.slice(0, 4), 16);
  const element = Number.parseInt(tag.slice(4), 16);
  const long = !implicit && longVrs.has(vr);
  if (!implicit && !long && length > 0xffff) throw new DatasetError(`(${tag}) value too long for ${vr}`);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(element, 2);
  if (implicit) head.writeUInt32LE(length, 4);
  else {
    head.write(vr, 4, 'latin1');
    if (long) head.writeUInt32LE(length, 8);
    else head.writeUInt16LE(length, 6);
  }
  return head;
}

/** The text of an element, or undefined when absent or not text. */
export function textOf(dataset: Dataset | undefined, tag: string): string | undefined {
  const value = dataset?.get(tag)?.value;
  return typeof value === 'string' ? value : undefined;
}
