// The `mllp` destination connector: sends one HL7 v2 message at a time over a persistent MLLP connection
// (node-hl7-client 4.0.0, as the design card asks) and waits for the ACK whose MSA-2 is the sent MSH-10
// (ch. 2.9.2: AA/CA sent, AE/CE retry, AR/CR failed for good).
//
// node-hl7-client traps this file works around (read in its source, src/client/connection.ts):
// - sendMessage() resolves once the bytes are written, not when the ACK arrives; the ACK comes to the
//   connection's handler, and we correlate it by MSA-2 ourselves. A second sendMessage() before the ACK
//   spins a core (LIBRARIES.md), so sends are strictly serialised here.
// - A connection's client pins one MSH-12 version and one byte encoding; a message with another version or
//   character set gets its own connection (the previous one is closed).
// - With connectionTimeout > 0 the library destroys the socket after that time even when connected; with 0
//   (our setting) a refused or dropped connection is never reported and never retried. So we time the
//   connect ourselves, watch the socket's 'close', and replace a broken connection on the next send.
// - sendMessage() on a connection that is not connected queues the message inside the library and sends it
//   on a later connect – a hidden second copy after we already reported 'retry'. We only call it when the
//   connection is connected, and discard the whole connection (with its queue) on any failure.
// - Its ACK decoder is fixed to UTF-8 and joins ACKs that arrive in one TCP read; we split them by MSH.
// - Its `tls` option goes to tls.connect() as is, but it reports 'connect' when TCP is up, before the handshake:
//   with `tls` set we wait for the socket's 'secureConnect', so a refused certificate is a failed connect.
import net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Connection as Hl7Connection, HL7Version, InboundResponse } from 'node-hl7-client';
import type {
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import { parseSenderTlsSettings } from '../runtime/listener-settings.ts';
import { errorText } from '../runtime/log.ts';
import { type SenderTlsSettings, senderTlsOptions, tlsFailureText } from '../runtime/tls-sender.ts';
import { expectInteger, expectKeys, expectObject, expectPort, expectString, join } from '../runtime/validate.ts';
import { bufferEncodingFor } from './charset.ts';
import { Hl7Message, Hl7ParseError } from './message.ts';
import { MllpSender } from './mllp-sender.ts';

export interface MllpDestinationSettings {
  host: string;
  port: number;
  ackTimeoutMs: number;
  connectTimeoutMs: number;
  /** TLS to the receiver (runtime/tls-sender.ts); absent: plain TCP. */
  tls?: SenderTlsSettings;
}

export function parseMllpDestinationSettings(input: unknown, path: string): MllpDestinationSettings {
  const value = expectObject(input, path);
  expectKeys(value, path, ['host', 'port', 'ackTimeoutMs', 'connectTimeoutMs', 'tls']);
  const optional = (key: string, fallback: number): number =>
    value[key] === undefined ? fallback : expectInteger(value[key], join(path, key), 1, 600_000);
  const settings: MllpDestinationSettings = {
    host: expectString(value['host'], join(path, 'host')),
    port: expectPort(value['port'], join(path, 'port')),
    ackTimeoutMs: optional('ackTimeoutMs', 30_000),
    connectTimeoutMs: optional('connectTimeoutMs', 10_000),
  };
  const tls = parseSenderTlsSettings(value['tls'], join(path, 'tls'));
  if (tls !== undefined) settings.tls = tls;
  return settings;
}

type Library = typeof import('node-hl7-client');
let library: Promise<Library> | undefined;

/** Imported on first use: the library costs ~160 MB RSS and ~250 ms, which a hub without MLLP out should not pay. */
function loadLibrary(): Promise<Library> {
  library ??= import('node-hl7-client');
  return library;
}

interface Ack {
  code: string;
  controlId: string;
  text: string;
  raw: string;
}

interface Waiter {
  controlId: string;
  resolve(result: Ack | Error): void;
}

/** One library connection plus what we learnt about it. */
class Link {
  readonly key: string;
  readonly connection: Hl7Connection;
  broken = false;
  waiter: Waiter | undefined;

  constructor(key: string, connection: Hl7Connection) {
    this.key = key;
    this.connection = connection;
  }

  fail(reason: string): void {
    this.broken = true;
    this.waiter?.resolve(new Error(reason));
    this.waiter = undefined;
  }

  onResponse(text: string): void {
    for (const ack of splitAcks(text)) {
      if (this.waiter && ack.controlId === this.waiter.controlId) {
        const waiter = this.waiter;
        this.waiter = undefined;
        waiter.resolve(ack);
      }
      // An ACK for another control id is a late answer to a message we already gave up on: ignore it.
    }
  }
}

function splitAcks(text: string): Ack[] {
  const segments = text.split(/\r\n|\r|\n/).filter((s) => s.length > 0);
  const messages: string[][] = [];
  for (const segment of segments) {
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

function resultOf(ack: Ack): SendResult {
  const reason = `${ack.code}${ack.text ? `: ${ack.text}` : ''}`;
  switch (ack.code) {
    case 'AA':
    case 'CA':
      return { status: 'sent', response: ack.raw };
    case 'AR':
    case 'CR':
      return { status: 'failed', error: `the receiver rejected the message (${reason})`, response: ack.raw };
    default:
      return { status: 'retry', error: `the receiver could not process the message (${reason})`, response: ack.raw };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What the library needs to know about a message before it may go out on a connection. */
interface Prepared {
  text: string;
  controlId: string;
  version: HL7Version;
  encoding: BufferEncoding;
}

/** Nothing went out on the wire: the engine is stopping (stopping()). */
const notSent: SendResult = { status: 'not-sent', error: 'the MLLP destination is stopping' };

export class MllpDestination implements DestinationConnector {
  readonly #settings: MllpDestinationSettings;
  readonly #context: DestinationContext;
  #link: Link | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #stopped = false;
  /** Ends a wait for a connection when the engine stops (stopping()). */
  #abandonConnect: (() => void) | undefined;

  constructor(settings: MllpDestinationSettings, context: DestinationContext) {
    this.#settings = settings;
    this.#context = context;
  }

  send(message: OutboundMessage): Promise<SendResult> {
    const result = this.#tail.then(() => this.#sendOne(message));
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** No new send starts, and a connection still being made is given up: nothing has gone out on it. */
  stopping(): void {
    this.#stopped = true;
    this.#abandonConnect?.();
  }

  async stop(): Promise<void> {
    this.stopping();
    await this.#tail;
    await this.#closeLink();
  }

  async #sendOne(message: OutboundMessage): Promise<SendResult> {
    if (this.#stopped) return notSent;
    const lib = await loadLibrary();
    const prepared = prepare(message.content, lib);
    if ('error' in prepared) return { status: 'failed', error: prepared.error };
    const link = await this.#linkFor(prepared, lib);
    if (!(link instanceof Link)) return link;
    const ack = await this.#exchange(link, prepared, lib);
    if (ack instanceof Error) {
      await this.#closeLink();
      this.#context.log.warn('MLLP send failed', {
        messageId: message.messageId,
        attempt: message.attempt,
        error: ack.message,
      });
      return { status: 'retry', error: ack.message };
    }
    return resultOf(ack);
  }

  async #exchange(link: Link, prepared: Prepared, lib: Library): Promise<Ack | Error> {
    const answered = new Promise<Ack | Error>((resolve) => {
      link.waiter = { controlId: prepared.controlId, resolve };
    });
    try {
      await link.connection.sendMessage(new lib.Message({ text: prepared.text }));
    } catch (error) {
      link.fail(`could not send to ${this.#address()}: ${errorText(error)}`);
    }
    const timeoutMs = this.#settings.ackTimeoutMs;
    return withTimeout(answered, timeoutMs, () => new Error(`no ACK from ${this.#address()} within ${timeoutMs} ms`));
  }

  #address(): string {
    return `${this.#settings.host}:${this.#settings.port}`;
  }

  /** The connection for this version and encoding, connected; or the result of the send without one. */
  async #linkFor(prepared: Prepared, lib: Library): Promise<Link | SendResult> {
    const key = `${prepared.version}/${prepared.encoding}`;
    if (this.#link && !this.#link.broken && this.#link.key === key) return this.#link;
    await this.#closeLink();
    const { host, tls } = this.#settings;
    let tlsOptions: ReturnType<typeof senderTlsOptions> | undefined;
    try {
      tlsOptions = tls === undefined ? undefined : senderTlsOptions(tls, host);
    } catch (error) {
      return { status: 'retry', error: `could not connect to ${this.#address()}: ${errorText(error)}` };
    }
    const client = new lib.Client({
      host,
      version: prepared.version,
      connectionTimeout: 0,
      ...(tlsOptions === undefined ? {} : { tls: tlsOptions }),
    });
    let link: Link | undefined;
    const connection = client.createConnection(
      { port: this.#settings.port, version: prepared.version, encoding: prepared.encoding, waitAck: true },
      (response: InboundResponse) => link?.onResponse(response.getMessage().toString()),
    );
    link = new Link(key, connection);
    this.#link = link;
    const connected = new Promise<'connected' | 'stopping' | Error>((resolve) => {
      const socket = socketOf(link);
      if (tlsOptions === undefined) connection.once('connect', () => resolve('connected'));
      else socket?.once('secureConnect', () => resolve('connected'));
      // A refused or reset connect closes the socket at once, which the library does not report (see above):
      // without this the send would wait out connectTimeoutMs for a peer that already said no.
      let failure: string | undefined;
      let tcpUp = false;
      socket?.once('connect', () => (tcpUp = true));
      socket?.once('error', (error) => {
        failure = tlsOptions !== undefined && tcpUp ? tlsFailureText(error) : errorText(error);
      });
      socket?.once('close', () => resolve(new Error(failure ?? 'connection closed')));
      this.#abandonConnect = () => resolve('stopping');
      if (this.#stopped) resolve('stopping');
    });
    const timeoutMs = this.#settings.connectTimeoutMs;
    const outcome = await withTimeout<'connected' | 'stopping' | 'timeout' | Error>(
      connected,
      timeoutMs,
      () => 'timeout',
    );
    this.#abandonConnect = undefined;
    if (outcome !== 'connected') {
      await this.#closeLink();
      if (outcome === 'stopping') return notSent;
      if (outcome instanceof Error)
        return { status: 'retry', error: `could not connect to ${this.#address()}: ${outcome.message}` };
      return { status: 'retry', error: `could not connect to ${this.#address()} within ${timeoutMs} ms` };
    }
    watchSocket(link);
    return link;
  }

  async #closeLink(): Promise<void> {
    const link = this.#link;
    this.#link = undefined;
    if (!link) return;
    link.fail('connection closed');
    await link.connection.close().catch(() => undefined);
  }
}

/**
 * The library never reports a socket the peer closed while its connectionTimeout is 0 (see above), so the
 * socket's own 'close' marks the link broken and fails the waiting send at once instead of at the ACK timeout.
 */
function watchSocket(link: Link): void {
  const socket = socketOf(link);
  // Under TLS 1.3 a client certificate is judged after the client's handshake is done: the refusal is an alert.
  let failure = '';
  socket?.once(
    'error',
    (error) => (failure = `: ${socket instanceof TLSSocket ? tlsFailureText(error) : errorText(error)}`),
  );
  socket?.once('close', () => link.fail(`the receiver closed the connection${failure}`));
}

/** The library's socket (made in its constructor, so present right after createConnection). */
function socketOf(link: Link): net.Socket | undefined {
  const socket = (link.connection as unknown as { _socket?: unknown })._socket;
  return socket instanceof net.Socket ? socket : undefined;
}

function prepare(content: string, lib: Library): Prepared | { error: string } {
  let message: Hl7Message;
  try {
    message = Hl7Message.parse(content);
  } catch (error) {
    if (error instanceof Hl7ParseError) return { error: `content is not an HL7 v2 message: ${error.message}` };
    throw error;
  }
  const controlId = message.get('MSH-10');
  if (!controlId) return { error: 'MSH-10 is empty: the ACK could not be matched to the message' };
  const version = message.get('MSH-12') ?? '';
  if (!lib.isKnownVersion(version))
    return { error: `MSH-12: version "${version}" cannot be sent by node-hl7-client (2.1 to 2.8 only)` };
  const charset = message.get('MSH-18[1]') ?? '';
  const encoding = bufferEncodingFor(charset);
  if (!encoding) return { error: `MSH-18: character set "${charset}" cannot be sent` };
  return { text: content, controlId, version, encoding };
}

export const mllpDestinationType: DestinationConnectorType<MllpDestinationSettings> = {
  type: 'mllp',
  parseSettings: parseMllpDestinationSettings,
  // On a thread of its own (mllp-sender.ts); MllpDestination is what runs there.
  create: (settings, context) => new MllpSender(settings, context),
};
