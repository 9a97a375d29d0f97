// The `mllp` source connector: an MLLP listener (HL7 v2.5.1 Appendix C) that hands each message to the channel
// and answers with an ACK (ch. 2.9). Our own net.Server, because node-hl7-server 2.5.0 re-runs its handler for
// every earlier frame on a persistent connection and dies on a handler exception (LIBRARIES.md).
//
// Rules: frames of one connection are handled one at a time, in order (HL7 senders rely on the sequence);
// connections run concurrently. AA only once ctx.receive() resolved, i.e. the message is durably stored and
// passed the channel's checks (a refusal answers AE/AR with the destination's ERR).
// The socket comes from runtime/listener.ts (TLS, connection limits, idle time); what only MLLP knows is here:
// bytes before a start block close the connection (the peer does not speak MLLP: an HTTP request, NULs), a
// frame must be complete within readTimeoutMs, and frames held in memory are bounded per connection and in total.
import type net from 'node:net';
import type {
  InboundMessage,
  ReceiveOutcome,
  SourceConnector,
  SourceConnectorType,
  SourceContext,
} from '../channels/connector.ts';
import { counter } from '../http/metrics.ts';
import { Listener, type ConnectionGuard, type TlsSettings } from '../runtime/listener.ts';
import { limitRanges, parseLimits, parseTlsSettings } from '../runtime/listener-settings.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import {
  expectArray,
  expectKeys,
  expectObject,
  expectOneOf,
  expectInteger,
  expectPort,
  expectString,
  join,
  ValidationError,
} from '../runtime/validate.ts';
import {
  ackCodesFor,
  ackRequestOf,
  buildAck,
  conditionOf,
  emptyAckRequest,
  errorCodes,
  errorLocationOf,
  type AckCode,
  type AckError,
  type AckRequest,
  type Disposition,
} from './ack.ts';
import { CharsetError, decodeHl7, defaultCharsets, encodeHl7, hexDecoderFor, type DefaultCharset } from './charset.ts';
import { hl7Document } from './hl7-data-type.ts';
import { Hl7Message, Hl7ParseError } from './message.ts';
import { limitProblem, parseHl7Limits, type Hl7Limits } from './message-limits.ts';
import { encodeFrame, MllpDecoder } from './mllp-framer.ts';

export interface MllpSourceSettings {
  host: string;
  port: number;
  /** Accepted MSH-9 values: `ORM^O01`, `ORM` or `ORM^*` (any event); empty accepts every type. */
  messageTypes: string[];
  /** Accepted MSH-12 versions, e.g. `2.3`, `2.5.1`; empty accepts every version. */
  versions: string[];
  maxFrameBytes: number;
  /** How to read a message whose MSH-18 is empty. */
  charset: DefaultCharset;
  tls?: TlsSettings;
  /** Connections, idle and read time, bytes held: what the listener enforces. */
  limits: MllpLimits;
  /** Segments, repetitions and patient identifiers one message may have (message-limits.ts). */
  messageLimits: Hl7Limits;
}

export interface MllpLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** No byte either way, and no message of ours in progress, for this long closes the connection. */
  idleTimeoutMs: number;
  /** A frame must be complete this long after its first byte (a 1 byte/s sender is dropped). */
  readTimeoutMs: number;
  /** Bytes all connections of this source may hold in unfinished and unanswered frames together. */
  maxBufferedBytes: number;
}

/** Safe defaults: an EHR keeps one or a few connections; a 16 MiB frame arrives in seconds on any link. */
export const defaultMllpLimits: MllpLimits = {
  maxConnections: 200,
  maxConnectionsPerAddress: 20,
  idleTimeoutMs: 600_000,
  readTimeoutMs: 60_000,
  maxBufferedBytes: 128 * 2 ** 20,
};

const framesReceived = counter('hl7_mllp_frames_received_total', 'MLLP frames received by MLLP sources');
const acksSent = counter('hl7_mllp_acks_sent_total', 'HL7 ACKs sent by MLLP sources, by MSA-1 code');
const framingErrors = counter(
  'hl7_mllp_framing_errors_total',
  'Bytes outside frames and oversized frames seen by MLLP sources',
);

const limitHits = counter(
  'hub_listener_limit_hits_total',
  'Connections closed or refused by a listener limit, by listener and limit',
);

const settingKeys = [
  'host',
  'port',
  'messageTypes',
  'versions',
  'maxFrameBytes',
  'charset',
  'tls',
  'limits',
  'messageLimits',
] as const;

function stringList(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  return expectArray(value, path).map((item, i) => expectString(item, join(path, i)));
}

export function parseMllpSourceSettings(input: unknown, path: string): MllpSourceSettings {
  const value = expectObject(input, path);
  expectKeys(value, path, settingKeys);
  const messageTypes = stringList(value['messageTypes'], join(path, 'messageTypes'));
  messageTypes.forEach((type, i) => {
    if (!/^[A-Z0-9]{3}(\^([A-Z0-9]{3}|\*))?$/.test(type))
      throw new ValidationError(
        join(join(path, 'messageTypes'), i),
        'expected a message type like ORM^O01, ORM or ORM^*',
      );
  });
  return {
    host: value['host'] === undefined ? '127.0.0.1' : expectString(value['host'], join(path, 'host')),
    port: expectPort(value['port'], join(path, 'port')),
    messageTypes,
    versions: stringList(value['versions'], join(path, 'versions')),
    maxFrameBytes:
      value['maxFrameBytes'] === undefined
        ? 16 * 2 ** 20
        : expectInteger(value['maxFrameBytes'], join(path, 'maxFrameBytes'), 64, 2 ** 30),
    charset:
      value['charset'] === undefined ? 'auto' : expectOneOf(value['charset'], join(path, 'charset'), defaultCharsets),
    ...withTls(parseTlsSettings(value['tls'], join(path, 'tls'))),
    limits: parseLimits(value['limits'], join(path, 'limits'), defaultMllpLimits, limitRanges),
    messageLimits: parseHl7Limits(value['messageLimits'], join(path, 'messageLimits')),
  };
}

function withTls(tls: TlsSettings | undefined): { tls?: TlsSettings } {
  return tls === undefined ? {} : { tls };
}

/** Why a message is refused before it reaches the channel (ch. 2.9.2: AR/CR), or undefined to accept it. */
function headerProblem(message: Hl7Message, settings: MllpSourceSettings): AckError | undefined {
  const required: Array<[number, string]> = [
    [9, 'message type'],
    [10, 'message control id'],
    [12, 'version id'],
  ];
  for (const [field, name] of required) {
    if (!message.get(`MSH-${field}`)) {
      return {
        condition: errorCodes.requiredFieldMissing,
        text: `MSH-${field} (${name}) is empty`,
        location: { segment: 'MSH', sequence: 1, field },
      };
    }
  }
  const version = message.get('MSH-12')!;
  if (settings.versions.length > 0 && !settings.versions.includes(version)) {
    return {
      condition: errorCodes.unsupportedVersionId,
      text: `MSH-12: version ${version} is not accepted (accepted: ${settings.versions.join(', ')})`,
      location: { segment: 'MSH', sequence: 1, field: 12 },
    };
  }
  return typeProblem(message, settings.messageTypes);
}

function typeProblem(message: Hl7Message, allowed: string[]): AckError | undefined {
  if (allowed.length === 0) return undefined;
  const code = message.get('MSH-9.1')!;
  const trigger = message.get('MSH-9.2') ?? '';
  const sameCode = allowed.filter((entry) => entry.split('^')[0] === code);
  const location = { segment: 'MSH', sequence: 1, field: 9 };
  if (sameCode.length === 0) {
    return {
      condition: errorCodes.unsupportedMessageType,
      text: `MSH-9: message type ${code} is not accepted (accepted: ${allowed.join(', ')})`,
      location,
    };
  }
  const ok = sameCode.some((entry) => !entry.includes('^') || entry.endsWith('^*') || entry === `${code}^${trigger}`);
  if (ok) return undefined;
  return {
    condition: errorCodes.unsupportedEventCode,
    text: `MSH-9: event ${code}^${trigger} is not accepted (accepted: ${allowed.join(', ')})`,
    location,
  };
}

/** For a frame that does not start with MSH: read what header there is so the ACK reaches the right place. */
function requestFromBrokenFrame(text: string, charset: string): AckRequest {
  const at = text.indexOf('MSH');
  if (at >= 0) {
    try {
      return ackRequestOf(Hl7Message.parse(text.slice(at)));
    } catch {
      // fall through to an empty header
    }
  }
  return emptyAckRequest(charset);
}

/**
 * A destination's refusal (channels/destination-check.ts) answers AR or AE with its ERR (ch. 2.9.2); the message
 * is stored, as an error, so in enhanced mode it is committed (CA) and refused by the application (AR or AE).
 */
function disposition(outcome: ReceiveOutcome): Disposition {
  if (outcome.status === 'refused') {
    const { refusal } = outcome;
    const location = errorLocationOf(refusal.path);
    const error: AckError = { condition: conditionOf(refusal.code), text: refusal.error };
    if (location) error.location = location;
    return { kind: 'refused', rejected: refusal.kind === 'rejected', error };
  }
  if (outcome.status !== 'error') return { kind: 'accepted' };
  return {
    kind: 'error',
    stored: outcome.messageId !== undefined,
    error: { condition: errorCodes.applicationInternalError, text: outcome.error },
  };
}

function encodeAck(text: string, charset: string): Buffer {
  try {
    return encodeHl7(text, charset);
  } catch (error) {
    if (!(error instanceof CharsetError)) throw error;
    // A character the charset lacks (in an engine error text) or a charset Node cannot write (8859/15, …):
    // ASCII reads the same in all of them, and an ACK with '?' beats no ACK.
    return Buffer.from(text.replace(/[^\u0000-\u007f]/gu, '?'), 'latin1');
  }
}

interface Frame {
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

class MllpConnection {
  readonly #socket: net.Socket;
  readonly #source: MllpSource;
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

  constructor(socket: net.Socket, source: MllpSource, log: Logger, guard: ConnectionGuard) {
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

export class MllpSource implements SourceConnector {
  readonly #settings: MllpSourceSettings;
  readonly #context: SourceContext;
  readonly #connections = new Map<net.Socket, MllpConnection>();
  #listener: Listener | undefined;
  stopping = false;
  /** Bytes held by all connections together (MllpConnection keeps it current). */
  buffered = 0;

  constructor(settings: MllpSourceSettings, context: SourceContext) {
    this.#settings = settings;
    this.#context = context;
  }

  get channelId(): string {
    return this.#context.channelId;
  }

  get settings(): MllpSourceSettings {
    return this.#settings;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.#listener?.port ?? this.#settings.port;
  }

  overBudget(): boolean {
    return this.buffered > this.#settings.limits.maxBufferedBytes;
  }

  async start(): Promise<void> {
    const { host, port, limits, tls } = this.#settings;
    const listener = new Listener({
      kind: 'mllp',
      host,
      port,
      ...(tls === undefined ? {} : { tls }),
      limits,
      log: this.#context.log.child({ connector: 'mllp' }),
      counter: limitHits,
      allowHalfOpen: true,
      onConnection: (socket, guard) => this.#accept(socket, guard),
      onIdle: (socket) => this.#connections.get(socket)?.busy ?? false,
    });
    await listener.start();
    this.#listener = listener;
    this.#context.log.info('MLLP source listening', { host, port: this.port, tls: tls !== undefined });
  }

  async stop(): Promise<void> {
    const listener = this.#listener;
    if (!listener) return;
    this.stopping = true;
    const closed = listener.stop();
    await Promise.all([...this.#connections.values()].map((c) => c.close()));
    await closed;
    this.#listener = undefined;
  }

  #accept(socket: net.Socket, guard: ConnectionGuard): void {
    const log = this.#context.log.child({ connector: 'mllp', remote: `${socket.remoteAddress}:${socket.remotePort}` });
    const connection = new MllpConnection(socket, this, log, guard);
    this.#connections.set(socket, connection);
    socket.on('close', () => this.#connections.delete(socket));
  }

  /** Handles one frame and returns the ACK frames' payloads, already encoded. */
  async handle(frame: Frame, socket: net.Socket, log: Logger): Promise<Buffer[]> {
    framesReceived.inc({ channel: this.channelId });
    if (frame.kind === 'oversize') return this.#refuseOversize(frame, socket, log);
    let decoded: { text: string; charset: string };
    try {
      decoded = decodeHl7(frame.bytes, this.#settings.charset);
    } catch (error) {
      if (!(error instanceof CharsetError)) throw error;
      const latin = frame.bytes.toString('latin1');
      log.warn('MLLP frame refused', { reason: error.message });
      const problem: AckError = {
        condition: errorCodes.dataType,
        text: error.message,
        location: { segment: 'MSH', sequence: 1, field: 18 },
      };
      // The reply cannot use a charset we cannot write: it goes out as ASCII and says so in MSH-18.
      return this.#replies(
        { ...requestFromBrokenFrame(latin, ''), charset: 'ASCII' },
        { kind: 'rejected', error: problem },
        'ASCII',
      );
    }
    let message: Hl7Message;
    try {
      message = Hl7Message.parse(decoded.text, hexDecoderFor(decoded.charset));
    } catch (error) {
      if (!(error instanceof Hl7ParseError)) throw error;
      log.warn('MLLP frame without a valid MSH', { bytes: frame.size, reason: error.message });
      const problem: AckError = {
        condition: errorCodes.segmentSequence,
        text: error.message,
        location: { segment: 'MSH', sequence: 1 },
      };
      return this.#replies(
        requestFromBrokenFrame(decoded.text, decoded.charset),
        { kind: 'rejected', error: problem },
        decoded.charset,
      );
    }
    const request = ackRequestOf(message);
    const problem = headerProblem(message, this.#settings);
    if (problem) {
      log.warn('HL7 message refused', { controlId: request.controlId, reason: problem.text });
      return this.#replies(request, { kind: 'rejected', error: problem }, decoded.charset);
    }
    // Before the channel spends anything on it: a message over a limit is stored as errored, and goes no further.
    const limit = limitProblem(message, this.#settings.messageLimits);
    if (limit) {
      log.warn('HL7 message over a limit, stored as errored', { controlId: request.controlId, reason: limit.text });
      const refused = await this.#receive(message, decoded.text, socket, log, request.controlId, limit.text);
      return this.#replies(
        request,
        refused.kind === 'error' && refused.stored ? { ...refused, error: limit } : refused,
        decoded.charset,
      );
    }
    const outcome = await this.#receive(message, decoded.text, socket, log, request.controlId);
    return this.#replies(request, outcome, decoded.charset);
  }

  async #receive(
    message: Hl7Message | undefined,
    raw: string,
    socket: net.Socket,
    log: Logger,
    controlId: string,
    refusal?: string,
  ): Promise<Disposition> {
    const inbound: InboundMessage = {
      raw,
      dataType: 'hl7v2',
      source: {
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: String(socket.remotePort ?? ''),
        localPort: String(socket.localPort ?? ''),
      },
      ...(message === undefined ? {} : { document: hl7Document(message) }),
      ...(refusal === undefined ? {} : { refusal }),
    };
    try {
      const outcome = await this.#context.receive(inbound);
      if (outcome.status === 'error' && refusal === undefined) {
        // The reason may quote the message (a script's or a mapping's error text): patient data, so debug only.
        log.warn('HL7 message not processed', { controlId, stored: outcome.messageId !== undefined });
        log.debug('HL7 message not processed', { controlId }, { reason: outcome.error });
      }
      if (outcome.status === 'refused') {
        log.warn('HL7 message refused', { controlId, code: outcome.refusal.code, where: outcome.refusal.path });
      }
      return disposition(outcome);
    } catch (error) {
      log.error('receive failed', { controlId, error: errorText(error) });
      return {
        kind: 'error',
        stored: false,
        error: {
          condition: errorCodes.applicationInternalError,
          text: 'the message could not be stored; send it again',
        },
      };
    }
  }

  /** A frame past maxFrameBytes: its head (enough to find and read MSH) is stored as errored, the sender told. */
  async #refuseOversize(frame: Frame, socket: net.Socket, log: Logger): Promise<Buffer[]> {
    framingErrors.inc({ channel: this.channelId, kind: 'oversize' });
    log.warn('MLLP frame too large, dropped', { bytes: frame.size, maxFrameBytes: this.#settings.maxFrameBytes });
    const text = frame.bytes.toString('latin1');
    const request = requestFromBrokenFrame(text, '');
    const limit = `the message has ${frame.size} bytes; the limit maxFrameBytes is ${this.#settings.maxFrameBytes}`;
    const problem: AckError = { condition: errorCodes.applicationInternalError, text: limit };
    const start = text.indexOf('MSH');
    let head: Hl7Message | undefined;
    try {
      head = start < 0 ? undefined : Hl7Message.parse(text.slice(start));
    } catch {
      // Cut anywhere, the head may not parse: it is stored all the same.
    }
    const refusal = `${limit} (only its first ${frame.bytes.length} bytes are kept)`;
    const stored = await this.#receive(head, text, socket, log, request.controlId, refusal);
    return this.#replies(
      request,
      stored.kind === 'error' && stored.stored ? { ...stored, error: problem } : stored,
      request.charset || 'ASCII',
    );
  }

  #replies(request: AckRequest, outcome: Disposition, charset: string): Buffer[] {
    const codes = ackCodesFor(request, outcome);
    return codes.map((code: AckCode) => {
      acksSent.inc({ channel: this.channelId, code });
      const success = code === 'AA' || code === 'CA';
      const ack = buildAck(request, code, success || outcome.kind === 'accepted' ? {} : { error: outcome.error });
      return encodeAck(ack.toString(), charset);
    });
  }
}

export const mllpSourceType: SourceConnectorType<MllpSourceSettings> = {
  type: 'mllp',
  parseSettings: parseMllpSourceSettings,
  create: (settings, context) => new MllpSource(settings, context),
};
