// A streaming reader of multipart/related bodies (RFC 2387 over RFC 2046 5.1), as STOW-RS sends them (PS3.18
// 10.5.1): each part is written to its own temp file as it arrives, so a study of any size costs a few buffers
// of memory, never the whole body. Only what STOW needs: part headers (Content-Type, Content-Location) and
// the part's bytes.
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

export interface ReceivedPart {
  /** Lower-cased header names. */
  headers: Map<string, string>;
  filePath: string;
  size: number;
}

export class MultipartError extends Error {}

export interface MultipartLimits {
  maxParts: number;
  maxHeaderBytes: number;
  maxTotalBytes: number;
}

const defaults: MultipartLimits = {
  maxParts: 10_000,
  maxHeaderBytes: 16 * 1024,
  maxTotalBytes: 20 * 1024 * 1024 * 1024,
};

/**
 * RFC 2046 5.1.1 says boundary := 1*70 bchars, but real clients send longer ones (Orthanc's DICOMweb plugin sends
 * 73 characters, `uuid-uuid`), so any length up to `maxBoundaryLength` is accepted (RFC 9110 2.5: be liberal in
 * what you accept). In a Content-Type it may be quoted. The caller checks the length.
 */
export function boundaryOf(contentType: string): string | undefined {
  const match = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** A bound on what a boundary costs (the delimiter is searched for in every chunk), well above any client's. */
export const maxBoundaryLength = 256;

/** A media type parameter, e.g. `type` of multipart/related (RFC 2387 3.1). */
export function parameterOf(contentType: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}=(?:"([^"]*)"|([^\\s;]+))`, 'i').exec(contentType);
  return match?.[1] ?? match?.[2];
}

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';

/**
 * Reads the body into part files under `dir` (the caller removes them). Throws MultipartError for a body that
 * is not well-formed (no delimiter, no closing delimiter, oversized headers) after removing nothing: the
 * caller owns `dir` and cleans it either way.
 */
export async function readMultipart(
  body: Readable,
  boundary: string,
  dir: string,
  limits: Partial<MultipartLimits> = {},
): Promise<ReceivedPart[]> {
  const { maxParts, maxHeaderBytes, maxTotalBytes } = { ...defaults, ...limits };
  // Starting the stream with CRLF lets the first delimiter be found like every other one (RFC 2046: the
  // CRLF before a delimiter belongs to the delimiter).
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const parts: ReceivedPart[] = [];
  let state: State = 'preamble';
  let pending: Buffer = Buffer.from('\r\n', 'latin1');
  let total = 0;
  let current: { part: ReceivedPart; out: WriteStream } | undefined;
  // A disk error (ENOSPC, EIO) may come while the loop waits for the next chunk of the body, with nobody
  // listening: kept here and thrown at the next write instead of crashing the process.
  let diskError: Error | undefined;
  const open = (part: ReceivedPart): WriteStream => {
    // flush: the file is fsynced before close, so an instance answered as stored survives a power cut.
    const out = createWriteStream(part.filePath, { flush: true });
    out.on('error', (error) => (diskError ??= error));
    return out;
  };

  const write = async (bytes: Buffer): Promise<void> => {
    if (diskError) throw diskError;
    if (!current || bytes.length === 0) return;
    current.part.size += bytes.length;
    if (!current.out.write(bytes)) await once(current.out, 'drain');
  };
  const close = async (): Promise<void> => {
    if (diskError) throw diskError;
    if (!current) return;
    const { out } = current;
    current = undefined;
    out.end();
    await once(out, 'finish');
  };

  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxTotalBytes) throw new MultipartError(`body larger than ${maxTotalBytes} bytes`);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        if (state === 'preamble') {
          const at = pending.indexOf(delimiter);
          if (at < 0) {
            pending = pending.subarray(Math.max(0, pending.length - delimiter.length + 1));
            break;
          }
          pending = pending.subarray(at + delimiter.length);
          state = 'after-delimiter';
        } else if (state === 'after-delimiter') {
          // Transport padding (RFC 2046 5.1.1) may follow the boundary before the CRLF.
          const lineEnd = pending.indexOf('\r\n');
          if (pending.length >= 2 && pending.subarray(0, 2).toString('latin1') === '--') {
            state = 'done';
            break;
          }
          if (lineEnd < 0) {
            if (pending.length > 256) throw new MultipartError('a boundary line is not followed by CRLF');
            break;
          }
          if (pending.subarray(0, lineEnd).toString('latin1').trim() !== '')
            throw new MultipartError('unexpected text after a boundary');
          pending = pending.subarray(lineEnd + 2);
          state = 'headers';
        } else if (state === 'headers') {
          const end = pending.indexOf('\r\n\r\n');
          const blank = pending.subarray(0, 2).toString('latin1') === '\r\n' ? 0 : -1;
          if (end < 0 && blank < 0) {
            if (pending.length > maxHeaderBytes)
              throw new MultipartError(`part headers longer than ${maxHeaderBytes} bytes`);
            break;
          }
          const headerEnd = blank === 0 ? 0 : end;
          const headers = parseHeaders(pending.subarray(0, headerEnd).toString('latin1'));
          pending = pending.subarray(headerEnd + (blank === 0 ? 2 : 4));
          if (parts.length >= maxParts) throw new MultipartError(`more than ${maxParts} parts`);
          const part: ReceivedPart = { headers, filePath: path.join(dir, `part-${parts.length}.bin`), size: 0 };
          parts.push(part);
          current = { part, out: open(part) };
          state = 'body';
        } else if (state === 'body') {
          const at = pending.indexOf(delimiter);
          if (at < 0) {
            // Keep what could be the start of a delimiter split across chunks.
            const keep = Math.min(pending.length, delimiter.length - 1);
            await write(pending.subarray(0, pending.length - keep));
            pending = Buffer.from(pending.subarray(pending.length - keep));
            break;
          }
          await write(pending.subarray(0, at));
          await close();
          pending = pending.subarray(at + delimiter.length);
          state = 'after-delimiter';
        } else {
          break;
        }
      }
      if (state === 'done') break;
    }
  } finally {
    await close();
  }
  if (state === 'preamble') throw new MultipartError(`no part delimited by the boundary "${boundary}"`);
  if (state !== 'done') throw new MultipartError('the body ends before the closing boundary (truncated?)');
  return parts;
}

function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  // RFC 5322 unfolding: a line starting with whitespace continues the previous header.
  for (const line of text.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`malformed part header "${line.slice(0, 40)}"`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}
