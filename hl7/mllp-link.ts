// One outgoing MLLP connection (HL7 v2.5.1 Appendix C) on the hub's own framer: frames out, ACK frames in,
// each ACK matched to the message in flight by MSA-2 = MSH-10 (ch. 2.9.2). It answers in the socket's 'data'
// callback, so a caller awaiting one ACK sends the next message in the same event-loop turn (microtasks), with
// no hop to another thread: a thread hand-over costs the hub's event loop more (a wake-up of an idle thread is
// ~100 µs of CPU on a VM) than the whole exchange. A refused, reset or closed socket fails the wait at once.
import net from 'node:net';
import tls from 'node:tls';
import { errorText } from '../runtime/log.ts';
import { tlsFailureText } from '../runtime/tls-sender.ts';
import { decodeHl7 } from './charset.ts';
import { Hl7Message } from './message.ts';
import { encodeFrame, MllpDecoder } from './mllp-framer.ts';

export interface Ack {
  code: string;
  controlId: string;
  text: string;
  raw: string;
}

export interface LinkTarget {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** tls.connect() options; absent: plain TCP. */
  tls?: tls.ConnectionOptions;
}

/** An ACK is small; a receiver sending megabytes back is not answering. */
const maxAckBytes = 1 << 20;

export class MllpLink {
  readonly #socket: net.Socket;
  readonly #address: string;
  readonly #decoder: MllpDecoder;
  #broken: string | undefined;
  #waiter: { controlId: string; resolve(result: Ack | Error): void } | undefined;

  constructor(socket: net.Socket, address: string) {
    this.#socket = socket;
    this.#address = address;
    this.#decoder = new MllpDecoder(
      { maxFrameBytes: maxAckBytes },
      { frame: (bytes) => this.#onFrame(bytes), garbage: () => undefined, oversize: () => undefined },
    );
  }

  /**
   * Connects; resolves with the link, an Error saying why not, 'timeout' after connectTimeoutMs, or 'abandoned'
   * when the function given to `onAbandon` is called first (the engine is stopping: nothing went out on it).
   */
  static connect(
    target: LinkTarget,
    onAbandon: (abandon: () => void) => void,
  ): Promise<MllpLink | Error | 'timeout' | 'abandoned'> {
    const { host, port, connectTimeoutMs } = target;
    const socket = target.tls === undefined ? net.connect({ host, port }) : tls.connect({ host, port, ...target.tls });
    socket.setNoDelay(true);
    return new Promise((resolve) => {
      let tcpUp = false;
      let failure: string | undefined;
      let settled = false;
      const onConnect = (): void => {
        tcpUp = true;
        if (target.tls === undefined) finish('connected');
      };
      const onSecure = (): void => finish('connected');
      // Under TLS, an error after TCP is up is the handshake's: say so (a refused certificate is not a refused port).
      const onError = (error: Error): void => {
        failure = target.tls !== undefined && tcpUp ? tlsFailureText(error) : errorText(error);
      };
      const onClose = (): void => finish(new Error(failure ?? 'connection closed'));
      const timer = setTimeout(() => finish('timeout'), connectTimeoutMs);
      const finish = (outcome: 'connected' | Error | 'timeout' | 'abandoned'): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('connect', onConnect).off('secureConnect', onSecure).off('close', onClose);
        if (outcome === 'connected') {
          socket.off('error', onError);
          return resolve(MllpLink.#watch(socket, `${host}:${port}`));
        }
        // onError stays: destroying a socket mid-handshake may still emit an error, which must not go unheard.
        socket.destroy();
        resolve(outcome);
      };
      socket.on('connect', onConnect).on('secureConnect', onSecure).on('error', onError).on('close', onClose);
      onAbandon(() => finish('abandoned'));
    });
  }

  static #watch(socket: net.Socket, address: string): MllpLink {
    const link = new MllpLink(socket, address);
    let failure = '';
    socket.on('data', (chunk: Buffer) => link.#decoder.push(chunk));
    // Under TLS 1.3 a client certificate is judged after the client's handshake is done: the refusal is an alert.
    socket.on('error', (error) => {
      failure = `: ${socket instanceof tls.TLSSocket ? tlsFailureText(error) : errorText(error)}`;
    });
    socket.on('close', () => link.fail(`the receiver closed the connection${failure}`));
    return link;
  }

  /** Broken links are replaced by the next send. */
  get broken(): boolean {
    return this.#broken !== undefined;
  }

  /** Writes one frame and resolves with its ACK, or an Error (connection lost, no ACK within `ackTimeoutMs`). */
  exchange(payload: Buffer, controlId: string, ackTimeoutMs: number): Promise<Ack | Error> {
    if (this.#broken !== undefined) return Promise.resolve(new Error(this.#broken));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        resolve(new Error(`no ACK from ${this.#address} within ${ackTimeoutMs} ms`));
      }, ackTimeoutMs);
      this.#waiter = {
        controlId,
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
      this.#socket.write(encodeFrame(payload));
    });
  }

  fail(reason: string): void {
    this.#broken ??= reason;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(new Error(reason));
  }

  close(): Promise<void> {
    this.fail('connection closed');
    if (this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#socket.destroy(), 2000);
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#socket.end();
    });
  }

  #onFrame(bytes: Buffer): void {
    for (const ack of parseAcks(bytes)) {
      const waiter = this.#waiter;
      // An ACK for another control id is a late answer to a message we already gave up on: ignored.
      if (waiter === undefined || ack.controlId !== waiter.controlId) continue;
      this.#waiter = undefined;
      waiter.resolve(ack);
    }
  }
}

/** The ACKs in one frame: some receivers put several in one, so it is split at each MSH. */
function parseAcks(bytes: Buffer): Ack[] {
  let text: string;
  try {
    text = decodeHl7(bytes).text;
  } catch {
    // An ACK in a character set the hub does not know: MSA is ASCII, so read it anyway.
    text = bytes.toString('latin1');
  }
  const messages: string[][] = [];
  for (const segment of text.split(/\r\n|\r|\n/)) {
    if (segment.length === 0) continue;
    if (segment.startsWith('MSH') || messages.length === 0) messages.push([]);
    messages[messages.length - 1]!.push(segment);
  }
  const acks: Ack[] = [];
  for (const lines of messages) {
    try {
      const message = Hl7Message.parse(lines.join('\r'));
      acks.push({
        code: message.get('MSA-1') ?? '',
        controlId: message.get('MSA-2') ?? '',
        text: message.get('ERR-8') || message.get('MSA-3') || message.get('ERR-3.2') || message.get('ERR-1.4.2') || '',
        raw: message.toString(),
      });
    } catch {
      // Not an HL7 message: nothing to correlate.
    }
  }
  return acks;
}
