// One MLLP connection of an MLLP source (HL7 v2.5.1 Appendix C): frames of one connection are handled one at a
// time, in order (HL7 senders rely on the sequence), with backpressure on the socket and the source's byte budget.
// The source (mllp-source.ts) parses, stores and answers each frame; this file holds only the per-socket rules:
// bytes before a start block end the connection, a frame must be complete within readTimeoutMs, and frames held
// in memory are bounded per connection and, through the source, in total.
import type net from 'node:net';
import { counter } from '../http/metrics.ts';
import type { ConnectionGuard } from '../runtime/listener.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import type { MllpLimits } from './mllp-source-settings.ts';
import { encodeFrame, MllpDecoder } from './mllp-framer.ts';

export const framingErrors = counter(
  'hl7_mllp_framing_errors_total',
  'Bytes outside frames and oversized frames seen by MLLP sources',
);

/** What a connection needs of its source: its settings and byte budget, and the handling of one frame. */
export interface MllpConnectionSource {
  readonly channelId: string;
  readonly settings: { readonly maxFrameBytes: number; readonly limits: MllpLimits };
  readonly stopping: boolean;
  /** Bytes held by all connections together; each connection adds and removes its own share. */
  buffered: number;
  overBudget(): boolean;
  /** Handles one frame and returns the ACK frames' payloads, already encoded. */
  handle(frame: Frame, socket: net.Socket, log: Logger): Promise<Buffer[]>;
}

export interface Frame {
  kind: 'frame' | 'oversize';
  bytes: Buffer;
  size: number;
}

/**
 * Above this many unhandled frames, or twice the largest frame in unhandled bytes, the socket is paused, so a
 * fast sender cannot fill memory (64 frames of the default 16 MiB would be 1 GiB per connection).
 */
const highWater = 64;
const lowWater = 8;

export class MllpConnection {
  readonly #socket: net.Socket;
  readonly #source: MllpConnectionSource;
  readonly #log: Logger;
  readonly #guard: ConnectionGuard;
  readonly #decoder: MllpDecoder;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  #pendingBytes = 0;
  readonly #maxPendingBytes: number;
  #paused = false;
  /** Bytes this connection counts against the source's total (unfinished frame + unanswered frames). */
  #held = 0;
  #readTimer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(socket: net.Socket, source: MllpConnectionSource, log: Logger, guard: ConnectionGuard) {
    this.#socket = socket;
    this.#source = source;
    this.#log = log;
    this.#guard = guard;
    const maxFrameBytes = source.settings.maxFrameBytes;
    this.#maxPendingBytes = 2 * maxFrameBytes;
    this.#decoder = new MllpDecoder(
      { maxFrameBytes },
      {
        frame: (bytes) => this.#enqueue({ kind: 'frame', bytes, size: bytes.length }),
        garbage: (count, where) => {
          framingErrors.inc({ channel: source.channelId, kind: 'garbage' });
          if (where === 'outside') return this.#refuseUnframed(count);
          this.#log.warn('MLLP frame cut short by a new start block, skipped', { bytes: count });
        },
        oversize: (head, size) => this.#enqueue({ kind: 'oversize', bytes: head, size }),
      },
    );
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // Half-open: a sender may end its side after the last frame and still wait for the ACKs.
    socket.on('end', () => void this.#tail.then(() => socket.end()));
    socket.on('error', (error) => this.#log.warn('MLLP connection error', { error: errorText(error) }));
    socket.on('close', () => {
      clearTimeout(this.#readTimer);
      this.#account(0);
    });
  }

  /** Frames are being handled: the connection waits for our ACK, which is not the peer being idle. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  /** Waits for the frames already received, then closes; stop() uses it. */
  async close(): Promise<void> {
    this.#socket.pause();
    await this.#tail;
    if (this.#socket.destroyed) return;
    const closed = new Promise<void>((resolve) => this.#socket.once('close', () => resolve()));
    this.#socket.end();
    const timer = setTimeout(() => this.#socket.destroy(), 2000);
    await closed;
    clearTimeout(timer);
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    this.#decoder.push(chunk);
    if (this.#closing || this.#socket.destroyed) return;
    this.#account(this.#decoder.buffered + this.#pendingBytes);
    if (this.#source.overBudget()) {
      this.#guard.hit('bytes-total', { maxBufferedBytes: this.#source.settings.limits.maxBufferedBytes });
      return this.#drop();
    }
    this.#watchRead();
  }

  /** A frame that started must end within readTimeoutMs, however slowly its bytes trickle in. */
  #watchRead(): void {
    if (!this.#decoder.inFrame) {
      clearTimeout(this.#readTimer);
      this.#readTimer = undefined;
      return;
    }
    if (this.#readTimer !== undefined) return;
    const ms = this.#source.settings.limits.readTimeoutMs;
    this.#readTimer = setTimeout(() => {
      this.#guard.hit('read-timeout', { ms });
      this.#drop();
    }, ms);
  }

  /** Bytes before a start block: not an MLLP peer. The frames before them are answered, then the socket ends. */
  #refuseUnframed(count: number): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#guard.hit('bytes-outside-frame', { bytes: count });
    this.#socket.pause();
    void this.#tail.then(() => {
      if (this.#socket.destroyed) return;
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 2000).unref();
    });
  }

  #drop(): void {
    this.#closing = true;
    clearTimeout(this.#readTimer);
    this.#socket.destroy();
    this.#account(0);
  }

  #account(bytes: number): void {
    this.#source.buffered += bytes - this.#held;
    this.#held = bytes;
  }

  #enqueue(frame: Frame): void {
    this.#pending++;
    this.#pendingBytes += frame.bytes.length;
    if ((this.#pending >= highWater || this.#pendingBytes >= this.#maxPendingBytes) && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
    this.#tail = this.#tail.then(() => this.#handleSafely(frame)).then(() => this.#settled(frame));
  }

  #settled(frame: Frame): void {
    this.#pending--;
    this.#pendingBytes -= frame.bytes.length;
    if (!this.#socket.destroyed) this.#account(this.#decoder.buffered + this.#pendingBytes);
    if (
      this.#paused &&
      this.#pending <= lowWater &&
      this.#pendingBytes < this.#maxPendingBytes / 2 &&
      !this.#source.stopping &&
      !this.#closing
    ) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  async #handleSafely(frame: Frame): Promise<void> {
    try {
      const replies = await this.#source.handle(frame, this.#socket, this.#log);
      for (const reply of replies) {
        if (!this.#socket.writable) return;
        this.#socket.write(encodeFrame(reply));
      }
    } catch (error) {
      // Nothing a peer sends may take the process down; the frame goes unanswered and the sender times out.
      this.#log.error('MLLP frame handling failed', { error: errorText(error) });
    }
  }
}
