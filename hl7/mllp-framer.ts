// MLLP framing (HL7 v2.5.1 Appendix C, MLLP release 2 block format): <VT=0x0B> message <FS=0x1C><CR=0x0D>.
// TCP delivers a byte stream, so one frame may arrive in many packets and one packet may hold many frames; the
// decoder keeps state across chunks. Bytes outside a frame are reported and skipped, and a frame larger than
// the limit is dropped while the decoder looks for the next start byte, so one bad peer message never wedges
// the connection.
export const START_BLOCK = 0x0b;
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

export interface MllpDecoderEvents {
  frame(payload: Buffer): void;
  /**
   * Non-whitespace bytes outside a frame (`outside`: the peer does not speak MLLP, or lost its framing), or a
   * frame cut short by a new start byte (`aborted`).
   */
  garbage(byteCount: number, where: 'outside' | 'aborted'): void;
  /** A frame grew past maxFrameBytes; `head` is its first bytes (enough to read MSH and answer). */
  oversize(head: Buffer, byteCount: number): void;
}

export interface MllpDecoderOptions {
  maxFrameBytes: number;
  /** How much of an oversized frame is kept for the reply; MSH fits in far less. */
  headBytes?: number;
}

type State = 'outside' | 'inside' | 'skipping';

function isWhitespace(b: number): boolean {
  return b === 0x0d || b === 0x0a || b === 0x20 || b === 0x09;
}

export class MllpDecoder {
  readonly #events: MllpDecoderEvents;
  readonly #max: number;
  readonly #headBytes: number;
  #state: State = 'outside';
  #chunks: Buffer[] = [];
  #size = 0;
  #head: Buffer = Buffer.alloc(0);
  #skipped = 0;
  /** The previous chunk ended on 0x1C: a leading 0x0D in the next one belongs to that frame's end. */
  #awaitingCr = false;

  constructor(options: MllpDecoderOptions, events: MllpDecoderEvents) {
    this.#events = events;
    this.#max = options.maxFrameBytes;
    this.#headBytes = options.headBytes ?? 4096;
  }

  /** Bytes held for the frame being received (what a slow or stalled sender costs us). */
  get buffered(): number {
    return this.#size;
  }

  /** A frame has started and not yet ended (or is being skipped as oversized). */
  get inFrame(): boolean {
    return this.#state !== 'outside';
  }

  push(chunk: Buffer): void {
    let at = 0;
    if (this.#awaitingCr) {
      this.#awaitingCr = false;
      if (chunk[0] === CARRIAGE_RETURN) at = 1;
    }
    while (at < chunk.length) {
      if (this.#state === 'outside') at = this.#outside(chunk, at);
      else if (this.#state === 'inside') at = this.#inside(chunk, at);
      else at = this.#skipping(chunk, at);
    }
  }

  #outside(chunk: Buffer, from: number): number {
    const start = chunk.indexOf(START_BLOCK, from);
    const end = start < 0 ? chunk.length : start;
    let garbage = 0;
    for (let i = from; i < end; i++) if (!isWhitespace(chunk[i]!)) garbage++;
    if (garbage > 0) this.#events.garbage(garbage, 'outside');
    if (start < 0) return chunk.length;
    this.#state = 'inside';
    this.#chunks = [];
    this.#size = 0;
    return start + 1;
  }

  #inside(chunk: Buffer, from: number): number {
    const end = indexOfEither(chunk, from);
    const stop = end < 0 ? chunk.length : end;
    if (stop > from) this.#append(chunk.subarray(from, stop));
    if (this.#state !== 'inside' || end < 0) return stop;
    if (chunk[end] === START_BLOCK) {
      // A new start byte before the end block: the sender gave up on that frame (MLLP has no abort).
      this.#events.garbage(this.#size + 1, 'aborted');
      this.#chunks = [];
      this.#size = 0;
      return end + 1;
    }
    this.#emit();
    return this.#afterEnd(chunk, end);
  }

  #afterEnd(chunk: Buffer, end: number): number {
    this.#state = 'outside';
    if (end + 1 >= chunk.length) {
      this.#awaitingCr = true;
      return chunk.length;
    }
    return chunk[end + 1] === CARRIAGE_RETURN ? end + 2 : end + 1;
  }

  #append(part: Buffer): void {
    if (this.#size + part.length > this.#max) {
      this.#head = Buffer.concat([...this.#chunks, part]).subarray(0, this.#headBytes);
      this.#skipped = this.#size + part.length;
      this.#chunks = [];
      this.#size = 0;
      this.#state = 'skipping';
      return;
    }
    // Chunks are copied: the socket may reuse its buffers, and a frame outlives the 'data' event.
    this.#chunks.push(Buffer.from(part));
    this.#size += part.length;
  }

  #skipping(chunk: Buffer, from: number): number {
    const end = indexOfEither(chunk, from);
    if (end < 0) {
      this.#skipped += chunk.length - from;
      return chunk.length;
    }
    this.#skipped += end - from;
    this.#events.oversize(this.#head, this.#skipped);
    this.#head = Buffer.alloc(0);
    if (chunk[end] === START_BLOCK) {
      this.#state = 'inside';
      this.#chunks = [];
      this.#size = 0;
      return end + 1;
    }
    return this.#afterEnd(chunk, end);
  }

  #emit(): void {
    const payload = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
    this.#chunks = [];
    this.#size = 0;
    this.#events.frame(payload);
  }
}

function indexOfEither(chunk: Buffer, from: number): number {
  const end = chunk.indexOf(END_BLOCK, from);
  const start = chunk.indexOf(START_BLOCK, from);
  if (end < 0) return start;
  if (start < 0) return end;
  return Math.min(start, end);
}

export function encodeFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length + 3);
  out[0] = START_BLOCK;
  payload.copy(out, 1);
  out[payload.length + 1] = END_BLOCK;
  out[payload.length + 2] = CARRIAGE_RETURN;
  return out;
}
