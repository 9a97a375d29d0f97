// Reads a ZIP of a study (APPNOTE.TXT 6.3: end of central directory, central directory headers, local headers)
// with node:zlib alone. The whole directory is checked before one byte is unpacked, and one bad entry refuses the
// whole archive: a name that is absolute or climbs with `..`, a symbolic link, encryption, a method other than
// stored/deflate, ZIP64, or more entries or bytes than allowed. Entries are unpacked under names of our own (never
// the archive's), counting bytes as they inflate, so an entry that inflates past its declared size (a zip bomb) or
// fails its CRC-32 stops there.
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localOffset: number;
  isDirectory: boolean;
}

export interface ZipLimits {
  maxEntries: number;
  /** All entries together, unpacked. */
  maxBytes: number;
}

const eocdSignature = 0x06054b50;
const centralSignature = 0x02014b50;
const localSignature = 0x04034b50;

/** True when the file starts like a ZIP (a local header, or the end record of an empty archive). */
export function looksLikeZip(head: Buffer): boolean {
  return head.length >= 4 && (head.readUInt32LE(0) === localSignature || head.readUInt32LE(0) === eocdSignature);
}

export async function readZipDirectory(file: string, limits: ZipLimits): Promise<ZipEntry[]> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const tailLength = Math.min(size, 22 + 65_535);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    let at = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === eocdSignature) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new ZipError('not a complete ZIP archive (no end of central directory record)');
    const count = tail.readUInt16LE(at + 10);
    const directorySize = tail.readUInt32LE(at + 12);
    const directoryOffset = tail.readUInt32LE(at + 16);
    if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff)
      throw new ZipError('ZIP64 archives are not supported: split the study into archives under 4 GB');
    if (count > limits.maxEntries) throw new ZipError(`the archive has ${count} entries; at most ${limits.maxEntries}`);
    if (directoryOffset + directorySize > size) throw new ZipError('the central directory lies outside the file');
    const directory = Buffer.alloc(directorySize);
    await handle.read(directory, 0, directorySize, directoryOffset);
    return entries(directory, count, limits, directoryOffset);
  } finally {
    await handle.close();
  }
}

function entries(directory: Buffer, count: number, limits: ZipLimits, directoryOffset: number): ZipEntry[] {
  const out: ZipEntry[] = [];
  let total = 0;
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== centralSignature)
      throw new ZipError(`central directory entry ${i + 1} is damaged`);
    const madeBy = directory.readUInt16LE(at + 4) >> 8;
    const flags = directory.readUInt16LE(at + 8);
    const method = directory.readUInt16LE(at + 10);
    const crc = directory.readUInt32LE(at + 16);
    const compressedSize = directory.readUInt32LE(at + 20);
    const size = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const external = directory.readUInt32LE(at + 38);
    const localOffset = directory.readUInt32LE(at + 42);
    const raw = directory.subarray(at + 46, at + 46 + nameLength);
    // APPNOTE 4.4.4 bit 11: UTF-8 names; otherwise IBM 437, of which the ASCII part is all a study's names use.
    const name = raw.toString(flags & 0x800 ? 'utf8' : 'latin1');
    at += 46 + nameLength + extraLength + commentLength;
    const what = `entry "${name.slice(0, 120)}"`;
    checkName(name, what);
    if (flags & 0x1) throw new ZipError(`${what} is encrypted`);
    // APPNOTE 4.4.2: made by UNIX (3) keeps the st_mode in the high 16 bits of the external attributes.
    if (madeBy === 3 && ((external >>> 16) & 0o170000) === 0o120000) throw new ZipError(`${what} is a symbolic link`);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff)
      throw new ZipError(`${what} needs ZIP64, which is not supported`);
    if (method !== 0 && method !== 8) throw new ZipError(`${what} uses compression method ${method}`);
    if (localOffset >= directoryOffset) throw new ZipError(`${what} points outside the archive`);
    total += size;
    if (total > limits.maxBytes) throw new ZipError(`the archive unpacks to more than ${limits.maxBytes} bytes`);
    out.push({ name, method, compressedSize, size, crc32: crc, localOffset, isDirectory: name.endsWith('/') });
  }
  return out;
}

function checkName(name: string, what: string): void {
  if (name.length === 0 || name.includes('\0')) throw new ZipError(`${what} has no usable name`);
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name))
    throw new ZipError(`${what} has an absolute path`);
  if (name.split(/[/\\]/).includes('..')) throw new ZipError(`${what} climbs out of the archive with ..`);
}

/** Unpacks one entry to `target` (fsynced), checking its size and CRC-32. */
export async function extractEntry(file: string, entry: ZipEntry, target: string): Promise<void> {
  const handle = await open(file, 'r');
  let dataStart: number;
  try {
    const local = Buffer.alloc(30);
    await handle.read(local, 0, 30, entry.localOffset);
    if (local.readUInt32LE(0) !== localSignature) throw new ZipError(`entry "${entry.name}" has no local header`);
    dataStart = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    await handle.close();
  }
  let bytes = 0;
  let crc = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      crc = crc32(chunk, crc);
      if (bytes > entry.size) done(new ZipError(`entry "${entry.name}" unpacks past its declared size`));
      else done(null, chunk);
    },
  });
  const source =
    entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream(file, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
  const sink = createWriteStream(target, { flush: true });
  if (entry.method === 8) await pipeline(source, createInflateRaw(), check, sink);
  else await pipeline(source, check, sink);
  if (bytes !== entry.size) throw new ZipError(`entry "${entry.name}" is shorter than declared`);
  if (crc !== entry.crc32) throw new ZipError(`entry "${entry.name}" fails its CRC-32 check`);
}
