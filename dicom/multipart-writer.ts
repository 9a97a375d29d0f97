// multipart/related responses (RFC 2387, PS3.18 8.7.1.1) written as a stream: each part's headers, then its body
// from a file or a buffer, so a study of any size goes out with one read buffer at a time and the socket's
// backpressure paces the disk.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

export interface OutgoingPart {
  contentType: string;
  /** A file to stream, or the bytes themselves. */
  filePath?: string;
  bytes?: Buffer;
  /** Content-Location of the part (PS3.18 8.7.1.1.1): the resource's own URL. */
  location?: string;
}

export interface MultipartBody {
  /** The Content-Type of the whole response, with `type` and `boundary`. */
  contentType: string;
  stream: Readable;
}

/** `type` is the media type of the parts (PS3.18 8.7.1.1: multipart/related; type="application/dicom"). */
export function multipartBody(
  type: string,
  parts: Iterable<OutgoingPart> | AsyncIterable<OutgoingPart>,
): MultipartBody {
  const boundary = randomUUID();
  return {
    contentType: `multipart/related; type="${type}"; boundary=${boundary}`,
    stream: Readable.from(partsOf(boundary, parts), { objectMode: false }),
  };
}

async function* partsOf(
  boundary: string,
  parts: Iterable<OutgoingPart> | AsyncIterable<OutgoingPart>,
): AsyncGenerator<Buffer> {
  let delimiter = `--${boundary}`;
  for await (const part of parts) {
    let head = `${delimiter}\r\nContent-Type: ${part.contentType}\r\n`;
    delimiter = `\r\n--${boundary}`;
    if (part.location !== undefined) head += `Content-Location: ${part.location}\r\n`;
    yield Buffer.from(`${head}\r\n`, 'latin1');
    if (part.bytes !== undefined) yield part.bytes;
    if (part.filePath !== undefined) yield* createReadStream(part.filePath, { highWaterMark: 256 * 1024 });
  }
  yield Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
}
