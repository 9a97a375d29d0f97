// multipart/related responses (RFC 2387, PS3.18 8.7.1.1): each part's headers, then its body from a file or a
// buffer, packed into pooled 1 MiB slabs (dicom/slab-pool.ts) that go to the socket one write each, so a study of
// any size goes out with a couple of slabs in hand and the socket's backpressure paces the reads.
// Files are read on the event loop while the page cache answers: a stored instance is read back soon after it
// arrived or by a viewer that asks for it again, and a read through libuv's threads (open, read, read, close:
// four round trips per file) made a study of 500 small instances four times slower. The loop gets a turn after
// every slab, and a read slower than 2 ms (the disk itself) moves the next files to libuv's threads. A part with
// a cache key is copied from the cache (dicom/instance-cache.ts) when it is there, and kept there once read again.
import { randomUUID } from 'node:crypto';
import { close, closeSync, open, openSync, read, readSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import type { Context } from 'koa';
import type { InstanceCache } from './instance-cache.ts';
import { giveSlab, slabBytes, takeSlab } from './slab-pool.ts';

export interface OutgoingPart {
  contentType: string;
  /** A file to send whole, or the bytes themselves. */
  filePath?: string;
  bytes?: Buffer;
  /**
   * The file's size as recorded when it was stored: a part that would not fit in what is left of a slab starts
   * the next one, so a small part is one read (packing parts across slabs was ~10 % slower for 500 x 100 KB).
   */
  sizeHint?: number;
  /** Content-Location of the part (PS3.18 8.7.1.1.1): the resource's own URL. */
  location?: string;
  /** The file's key in the options' cache (dicom/instance-cache.ts): served from there, or kept there when read again. */
  cacheKey?: string;
}

export interface MultipartOptions {
  /** A read on the event loop that takes longer than this came from the disk, not from the page cache. */
  slowReadMs?: number;
  /** Recently sent small files, for the parts that have a cacheKey. */
  cache?: InstanceCache | undefined;
}

/** Files read on libuv's threads after a slow read, before the event loop tries again. */
const threadedAfterSlowRead = 16;

const openThreaded = promisify(open);
const readThreaded = promisify(read);
const closeThreaded = promisify(close);

/**
 * Answers with the parts as one multipart/related body of media type `type`. Written here rather than through
 * Koa (ctx.respond = false), because a slab can only be reused once the socket's write callback says so.
 */
export async function sendMultipart(
  ctx: Context,
  type: string,
  parts: Iterable<OutgoingPart>,
  options: MultipartOptions = {},
): Promise<void> {
  const boundary = randomUUID();
  ctx.status = 200;
  ctx.respond = false;
  ctx.res.writeHead(200, { 'content-type': `multipart/related; type="${type}"; boundary=${boundary}` });
  // HEAD (routed here with GET): the headers are the whole answer, and no file is read for it.
  if (ctx.method === 'HEAD') {
    ctx.res.end();
    return;
  }
  const sink = new SlabSink(ctx.res, options.slowReadMs ?? 2, options.cache);
  try {
    let delimiter = `--${boundary}`;
    for (const part of parts) {
      if (sink.gone) break;
      let head = `${delimiter}\r\nContent-Type: ${part.contentType}\r\n`;
      if (part.location !== undefined) head += `Content-Location: ${part.location}\r\n`;
      delimiter = `\r\n--${boundary}`;
      head += '\r\n';
      await sink.room(head.length + (part.sizeHint ?? part.bytes?.length ?? 0));
      await sink.text(head);
      if (part.filePath !== undefined) await sink.file(part.filePath, part.cacheKey);
      else if (part.bytes !== undefined) await sink.bytes(part.bytes);
    }
    await sink.text(`\r\n--${boundary}--\r\n`);
    sink.end();
  } catch (error) {
    // The status line is out: a body cut short is all the client can still be told.
    sink.abandon();
    ctx.app.emit('error', error, ctx);
  }
}

class SlabSink {
  readonly #res: ServerResponse;
  #slab = takeSlab();
  #at = 0;
  readonly #slowReadMs: number;
  /**
   * Files still to be read on libuv's threads after a slow read on the event loop. A disk that is slow stays
   * slow, but one late read (the thread descheduled on a busy machine) must not slow the rest of a study:
   * after these the event loop tries again.
   */
  #threadedFiles = 0;
  readonly #cache: InstanceCache | undefined;
  /** Slabs sent so far: a file read without one in between lies whole in the current slab. */
  #flushes = 0;

  constructor(res: ServerResponse, slowReadMs: number, cache: InstanceCache | undefined) {
    this.#res = res;
    this.#slowReadMs = slowReadMs;
    this.#cache = cache;
  }

  /** The client went away (or the answer failed): nothing more to send. */
  get gone(): boolean {
    return this.#res.destroyed;
  }

  /** Starts a new slab unless `size` bytes fit in this one (or would not fit in any). */
  async room(size: number): Promise<void> {
    if (size <= slabBytes && this.#at + size > slabBytes) await this.#flush();
  }

  async text(text: string): Promise<void> {
    if (this.#at + Buffer.byteLength(text, 'latin1') > slabBytes) await this.#flush();
    this.#at += this.#slab.write(text, this.#at, 'latin1');
  }

  async bytes(bytes: Buffer): Promise<void> {
    if (bytes.length <= slabBytes - this.#at) {
      this.#at += bytes.copy(this.#slab, this.#at);
      return;
    }
    // A large frame goes out as it is: copying it would cost more than a write of its own.
    await this.#flush();
    if (!this.#res.write(bytes)) await drained(this.#res);
  }

  /** The whole file, to its end: its size is whatever the file holds now. */
  async file(filePath: string, cacheKey?: string): Promise<void> {
    const cache = cacheKey === undefined ? undefined : this.#cache;
    const held = cache?.get(cacheKey!);
    if (held !== undefined) return this.bytes(held);
    const keep = cache?.wants(cacheKey!) === true;
    const threadedOpen = this.#threadedFiles > 0;
    if (threadedOpen) this.#threadedFiles--;
    const fd = threadedOpen ? await openThreaded(filePath, 'r') : openSync(filePath, 'r');
    let threaded = threadedOpen;
    const start = this.#at;
    const flushes = this.#flushes;
    try {
      for (let position = 0; ; ) {
        if (this.#at === slabBytes) await this.#flush();
        if (this.gone) return;
        const wanted = slabBytes - this.#at;
        const bytesRead = threaded
          ? (await readThreaded(fd, this.#slab, this.#at, wanted, position)).bytesRead
          : this.#readOnLoop(fd, position);
        // A slow read moves the rest of this file to libuv's threads too.
        threaded ||= this.#threadedFiles > 0;
        this.#at += bytesRead;
        position += bytesRead;
        // A regular file reads short only at its end: no read of nothing to find it (one call less per instance).
        if (bytesRead < wanted) break;
      }
    } finally {
      if (threadedOpen) await closeThreaded(fd);
      else closeSync(fd);
    }
    if (keep && this.#flushes === flushes) cache!.put(cacheKey!, this.#slab.subarray(start, this.#at));
  }

  /** Sends what the slab holds and ends the answer (nothing is sent to a client that left). */
  end(): void {
    const slab = this.#slab;
    if (this.gone) {
      giveSlab(slab);
      return;
    }
    if (this.#at > 0) this.#res.end(slab.subarray(0, this.#at), () => giveSlab(slab));
    else {
      this.#res.end();
      giveSlab(slab);
    }
  }

  abandon(): void {
    this.#res.destroy();
    // Not given back: a write of it may still be under way.
  }

  /** Reads into the slab on the event loop; a slow read sends the next files to libuv's threads. */
  #readOnLoop(fd: number, position: number): number {
    const started = performance.now();
    const bytesRead = readSync(fd, this.#slab, this.#at, slabBytes - this.#at, position);
    if (performance.now() - started > this.#slowReadMs) this.#threadedFiles = threadedAfterSlowRead;
    return bytesRead;
  }

  /** Sends the slab and takes another; the event loop gets a turn either way. */
  async #flush(): Promise<void> {
    if (this.#at === 0) return;
    const slab = this.#slab;
    const fits = this.#res.write(slab.subarray(0, this.#at), () => giveSlab(slab));
    this.#flushes++;
    this.#slab = takeSlab();
    this.#at = 0;
    if (!fits) await drained(this.#res);
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Resolves when the socket takes more, or when the response is gone (then `destroyed` says so). */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
