// Character sets of HL7 v2 (MSH-18, table 0211). The text of a message cannot be read before its bytes are
// decoded, and MSH-18 says how to decode them – so MSH-18 is first peeked in the raw bytes, where MSH and the
// delimiters are plain ASCII in every single-byte and UTF-8 encoding that HL7 allows over MLLP.
import type { HexDecoder } from './escape.ts';

/** What a channel uses when MSH-18 is empty: 'auto' reads UTF-8 when the bytes are valid UTF-8, else 8859/1. */
export type DefaultCharset = 'auto' | 'ASCII' | 'UNICODE UTF-8' | '8859/1' | '8859/15';

export const defaultCharsets: readonly DefaultCharset[] = ['auto', 'ASCII', 'UNICODE UTF-8', '8859/1', '8859/15'];

interface Charset {
  /** WHATWG label for TextDecoder. */
  label: string;
  /** Buffer encoding for writing, when Node has one. */
  buffer?: BufferEncoding;
}

// Plain ASCII is read as 8859/1: a sender that declares ASCII but sends 8-bit bytes almost always means
// Latin-1, and decoding them as such loses nothing (every byte maps to one character).
const charsets: Record<string, Charset> = {
  ASCII: { label: 'latin1', buffer: 'latin1' },
  '8859/1': { label: 'latin1', buffer: 'latin1' },
  '8859/2': { label: 'iso-8859-2' },
  '8859/5': { label: 'iso-8859-5' },
  '8859/7': { label: 'iso-8859-7' },
  '8859/9': { label: 'iso-8859-9' },
  '8859/15': { label: 'iso-8859-15' },
  'UNICODE UTF-8': { label: 'utf-8', buffer: 'utf8' },
  'UNICODE UTF-16': { label: 'utf-16le', buffer: 'utf16le' },
  'GB 18030-2000': { label: 'gb18030' },
  'BIG-5': { label: 'big5' },
  'KS X 1001': { label: 'euc-kr' },
};

/** HL7 allows `UTF-8` and similar spellings from lenient senders; the table's names are canonical. */
function canonical(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'UTF-8' || upper === 'UTF8' || upper === 'UNICODE UTF8') return 'UNICODE UTF-8';
  if (upper === 'ISO-8859-1' || upper === 'LATIN1' || upper === 'ISO IR100') return '8859/1';
  return upper;
}

export function isKnownCharset(name: string): boolean {
  return canonical(name) in charsets;
}

/** MSH-18 (first repetition) read from raw bytes, or '' when absent. */
export function peekCharset(bytes: Uint8Array): string {
  return peekCharsets(bytes)[0] ?? '';
}

/**
 * Every repetition of MSH-18 read from raw bytes (ch. 2.14.9.18: the first is the message's character set, the
 * others the alternates ISO 2022 escapes switch to); empty when MSH-18 is.
 */
export function peekCharsets(bytes: Uint8Array): string[] {
  const start = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf('MSH');
  if (start < 0 || start + 8 > bytes.length) return [];
  const fieldSep = bytes[start + 3];
  const repetitionSep = bytes[start + 5];
  let field = 2;
  let at = start + 4;
  while (at < bytes.length && field < 18) {
    const b = bytes[at];
    if (b === 0x0d || b === 0x0a) return [];
    if (b === fieldSep) field++;
    at++;
  }
  if (field < 18) return [];
  let end = at;
  while (end < bytes.length && bytes[end] !== fieldSep && bytes[end] !== 0x0d && bytes[end] !== 0x0a) end++;
  const text = Buffer.from(bytes.subarray(at, end)).toString('latin1');
  if (text.trim() === '') return [];
  return text.split(String.fromCharCode(repetitionSep!)).map((name) => name.trim());
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeAuto(bytes: Uint8Array): { text: string; charset: string } {
  try {
    return { text: strictUtf8.decode(bytes), charset: 'UNICODE UTF-8' };
  } catch {
    return { text: Buffer.from(bytes).toString('latin1'), charset: '8859/1' };
  }
}

export class CharsetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CharsetError';
  }
}

/**
 * Decodes an HL7 message's bytes per its MSH-18, or per `fallback` when MSH-18 is empty.
 * Returns the charset actually used, which is the one the reply must be encoded in.
 */
export function decodeHl7(bytes: Uint8Array, fallback: DefaultCharset = 'auto'): { text: string; charset: string } {
  const declaredAll = peekCharsets(bytes);
  // An alternate set the hub does not know is refused like an unknown first one: text in it would be misread.
  const unknown = declaredAll.find((name) => name !== '' && !isKnownCharset(name));
  if (unknown !== undefined) throw new CharsetError(`MSH-18: unsupported character set "${unknown}"`);
  const declared = declaredAll[0] ?? '';
  const name = declared === '' ? fallback : declared;
  if (name === 'auto') return decodeAuto(bytes);
  const charset = charsets[canonical(name)];
  if (!charset) throw new CharsetError(`MSH-18: unsupported character set "${name}"`);
  return { text: new TextDecoder(charset.label).decode(bytes), charset: canonical(name) };
}

/** Encodes text for the wire in an HL7 character set; refuses characters the set cannot carry. */
export function encodeHl7(text: string, charsetName: string): Buffer {
  const name = charsetName === '' || charsetName === 'auto' ? 'UNICODE UTF-8' : canonical(charsetName);
  const charset = charsets[name];
  if (!charset?.buffer) throw new CharsetError(`MSH-18: cannot encode character set "${charsetName}"`);
  if (charset.buffer === 'latin1') {
    const bad = /[^\u0000-\u00ff]/u.exec(text);
    if (bad)
      throw new CharsetError(
        `MSH-18: character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} cannot be sent as ${name}`,
      );
  }
  return Buffer.from(text, charset.buffer);
}

/** How `\Xhh\` escapes are read in a message of this character set. */
export function hexDecoderFor(charsetName: string): HexDecoder {
  const charset = charsets[canonical(charsetName)];
  const label = charset?.label ?? 'latin1';
  return (bytes) => new TextDecoder(label).decode(bytes);
}

/** The Buffer encoding to use when a library wants one (node-hl7-client), or undefined if Node has none. */
export function bufferEncodingFor(charsetName: string): BufferEncoding | undefined {
  const name = charsetName === '' || charsetName === 'auto' ? 'UNICODE UTF-8' : canonical(charsetName);
  return charsets[name]?.buffer;
}
