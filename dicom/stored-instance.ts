// Reads an instance of the study file store for the DICOMweb read side (metadata, frames, rendered) with dcmjs.
// Metadata needs only what comes before the pixel data, so a prefix of the file is parsed first and the whole file
// only when the prefix did not reach (7FE0,0010): a 20 MB CT costs 256 KB for its metadata. Frames and rendering
// read the whole instance: memory grows with the largest instance, never with the study.
import { open, readFile } from 'node:fs/promises';
import dcmjs, { type DcmjsDict } from 'dcmjs';

export const pixelDataTag = '7FE00010';
const headerPrefixBytes = 256 * 1024;

export interface ParsedInstance {
  /** Transfer syntax of the stored file, from its meta header. */
  transferSyntaxUid: string;
  /** Data set elements, keyed by 8-digit upper-case hex tag, values as dcmjs reads them. */
  dict: DcmjsDict;
}

/** Everything but the pixel data value (its element stays, empty, so a reader knows it is there). */
export async function readHeader(filePath: string): Promise<ParsedInstance> {
  const handle = await open(filePath, 'r');
  let prefix: Buffer;
  let size: number;
  try {
    size = (await handle.stat()).size;
    const length = Math.min(size, headerPrefixBytes);
    prefix = Buffer.alloc(length);
    await handle.read(prefix, 0, length, 0);
  } finally {
    await handle.close();
  }
  if (prefix.length < size) {
    const parsed = tryParse(prefix, true);
    if (parsed !== undefined && pixelDataTag in parsed.dict) return parsed;
  }
  return parse(await readFile(filePath), true);
}

/** The whole instance, pixel data included. */
export async function readWhole(filePath: string): Promise<ParsedInstance> {
  return parse(await readFile(filePath), false);
}

function tryParse(bytes: Buffer, headerOnly: boolean): ParsedInstance | undefined {
  try {
    return parse(bytes, headerOnly);
  } catch {
    return undefined;
  }
}

function parse(bytes: Buffer, headerOnly: boolean): ParsedInstance {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  const file = dcmjs.data.DicomMessage.readFile(
    buffer,
    headerOnly ? { untilTag: pixelDataTag, includeUntilTagValue: false } : {},
  );
  const transferSyntaxUid = String(file.meta['00020010']?.Value?.[0] ?? '').replace(/\0+$/, '');
  return { transferSyntaxUid, dict: file.dict };
}

/** The first value of an element as a number (US, IS), or undefined. */
export function numberOf(dict: DcmjsDict, tag: string): number | undefined {
  const value = dict[tag]?.Value?.[0];
  const number = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(number) ? number : undefined;
}
