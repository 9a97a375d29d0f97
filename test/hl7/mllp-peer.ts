// Real MLLP peers for the tests, on loopback sockets: a sending client that reads ACKs with our own framer,
// a receiving listener that answers AA/AE/AR or nothing, and a SourceContext that stores to a real file with
// fsync before it resolves (the engine's contract, not a mock of a peer).
import { once } from 'node:events';
import { open, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { InboundMessage, ReceiveOutcome, SourceContext } from '../../channels/connector.ts';
import { buildAck, ackRequestOf } from '../../hl7/ack.ts';
import { decodeHl7, encodeHl7 } from '../../hl7/charset.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { encodeFrame, MllpDecoder } from '../../hl7/mllp-framer.ts';
import { createLogger } from '../../runtime/log.ts';

export const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'hl7');

export function fixture(name: string): Promise<Buffer> {
  return readFile(path.join(fixtures, name));
}

/** A sender: writes bytes, reads whole frames back in order. */
export class MllpTestClient {
  readonly socket: net.Socket;
  readonly #frames: Buffer[] = [];
  readonly #waiting: Array<(frame: Buffer) => void> = [];
  /** Why the connection failed, if it did; the socket closes after it, which the tests that kill a hub wait for. */
  error: Error | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    // A hub killed or stopped under a test resets its connections. Without a listener that 'error' is an uncaught
    // exception that ends the whole test file. Waiters are left as they were: tests race them against 'close'.
    socket.on('error', (error) => {
      this.error = error;
    });
    const decoder = new MllpDecoder(
      { maxFrameBytes: 2 ** 24 },
      {
        frame: (frame) => {
          const waiter = this.#waiting.shift();
          if (waiter) waiter(frame);
          else this.#frames.push(frame);
        },
        garbage: () => undefined,
        oversize: () => undefined,
      },
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  static async connect(port: number): Promise<MllpTestClient> {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    await once(socket, 'connect');
    return new MllpTestClient(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  send(payload: Buffer): void {
    this.socket.write(encodeFrame(payload));
  }

  nextFrame(): Promise<Buffer> {
    const ready = this.#frames.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async nextAck(): Promise<Hl7Message> {
    const frame = await this.nextFrame();
    return Hl7Message.parse(decodeHl7(frame).text);
  }

  async exchange(payload: Buffer): Promise<Hl7Message> {
    this.send(payload);
    return this.nextAck();
  }

  async close(): Promise<void> {
    this.socket.end();
    if (!this.socket.destroyed) await once(this.socket, 'close');
  }
}

export type ListenerAnswer = 'AA' | 'AE' | 'AR' | 'none' | 'close';

/** A receiver like a facility EHR: answers each message with the code `answer` picks. */
export class MllpTestListener {
  readonly server: net.Server;
  readonly received: Hl7Message[] = [];
  answer: (message: Hl7Message, index: number) => ListenerAnswer;

  private constructor(server: net.Server, answer: (message: Hl7Message, index: number) => ListenerAnswer) {
    this.server = server;
    this.answer = answer;
  }

  /** `port` 0 picks a free one; a fixed port lets a test bring a peer back where a hub expects it. */
  static async start(
    answer: (message: Hl7Message, index: number) => ListenerAnswer,
    port = 0,
  ): Promise<MllpTestListener> {
    const server = net.createServer({ noDelay: true });
    const listener = new MllpTestListener(server, answer);
    server.on('connection', (socket) => listener.#serve(socket));
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return listener;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    return address.port;
  }

  readonly #sockets = new Set<net.Socket>();

  /** Connections open to this listener now. */
  get connections(): number {
    return this.#sockets.size;
  }

  #serve(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new MllpDecoder(
      { maxFrameBytes: 2 ** 24 },
      {
        frame: (frame) => {
          const { text, charset } = decodeHl7(frame);
          const message = Hl7Message.parse(text);
          this.received.push(message);
          const code = this.answer(message, this.received.length - 1);
          if (code === 'none') return;
          if (code === 'close') {
            socket.destroy();
            return;
          }
          const ack = buildAck(
            ackRequestOf(message),
            code,
            code === 'AA' ? {} : { text: `test listener says ${code}` },
          );
          socket.write(encodeFrame(encodeHl7(ack.toString(), charset)));
        },
        garbage: () => undefined,
        oversize: () => undefined,
      },
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

export interface StoringContextOptions {
  /** Decides the outcome after the message is stored; default accepted. */
  outcome?: (message: InboundMessage, id: string) => ReceiveOutcome | 'throw';
}

/** A SourceContext that appends each message to a file and fsyncs before resolving, as the engine does. */
export class FileStoringContext implements SourceContext {
  readonly channelId = 'test-channel';
  readonly log = createLogger({ test: 'hl7' });
  readonly file: string;
  readonly messages: InboundMessage[] = [];
  readonly #outcome: StoringContextOptions['outcome'];

  constructor(file: string, options: StoringContextOptions = {}) {
    this.file = file;
    this.#outcome = options.outcome;
  }

  async receive(message: InboundMessage): Promise<ReceiveOutcome> {
    const id = `m${this.messages.length + 1}`;
    // A refused message is stored as errored, as the pipeline does.
    const refused: ReceiveOutcome | undefined =
      message.refusal === undefined ? undefined : { status: 'error', messageId: id, error: message.refusal };
    const outcome = this.#outcome?.(message, id) ?? refused ?? { status: 'accepted', messageId: id };
    if (outcome === 'throw') throw new Error('store exploded (test)');
    const handle = await open(this.file, 'a');
    try {
      await handle.write(`${JSON.stringify({ id, raw: message.raw })}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.messages.push(message);
    return outcome;
  }

  async receiveMany(messages: readonly InboundMessage[]): Promise<ReceiveOutcome[]> {
    const outcomes: ReceiveOutcome[] = [];
    for (const message of messages) outcomes.push(await this.receive(message));
    return outcomes;
  }

  async storedLines(): Promise<Array<{ id: string; raw: string }>> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { id: string; raw: string });
  }
}
