// The `mllp` source connector: an MLLP listener (HL7 v2.5.1 Appendix C) that hands each message to the channel
// and answers with an ACK (ch. 2.9). Our own net.Server, because node-hl7-server 2.5.0 re-runs its handler for
// every earlier frame on a persistent connection and dies on a handler exception (LIBRARIES.md).
//
// Rules: frames of one connection are handled one at a time, in order (HL7 senders rely on the sequence);
// connections run concurrently. AA only once ctx.receive() resolved, i.e. the message is durably stored and
// passed the channel's checks (a refusal answers AE/AR with the destination's ERR).
// The socket comes from runtime/listener.ts (TLS, connection limits, idle time); the per-connection MLLP rules
// (bytes before a start block, read timeout, frames held in memory) live in mllp-connection.ts, and the settings
// a channel gives the source in mllp-source-settings.ts.
import type net from 'node:net';
import type {
  InboundMessage,
  ReceiveOutcome,
  SourceConnector,
  SourceConnectorType,
  SourceContext,
} from '../channels/connector.ts';
import { counter, listenerLimitHits } from '../http/metrics.ts';
import { Listener, type ConnectionGuard } from '../runtime/listener.ts';
import { errorText, type Logger } from '../runtime/log.ts';
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
import { CharsetError, decodeHl7, encodeHl7, hexDecoderFor } from './charset.ts';
import { hl7Document } from './hl7-data-type.ts';
import { Hl7Message, Hl7ParseError } from './message.ts';
import { limitProblem } from './message-limits.ts';
import { framingErrors, MllpConnection, type Frame, type MllpConnectionSource } from './mllp-connection.ts';
import { parseMllpSourceSettings, type MllpSourceSettings } from './mllp-source-settings.ts';

export {
  defaultMllpLimits,
  parseMllpSourceSettings,
  type MllpLimits,
  type MllpSourceSettings,
} from './mllp-source-settings.ts';

const framesReceived = counter('hl7_mllp_frames_received_total', 'MLLP frames received by MLLP sources');
const acksSent = counter('hl7_mllp_acks_sent_total', 'HL7 ACKs sent by MLLP sources, by MSA-1 code');

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

export class MllpSource implements SourceConnector, MllpConnectionSource {
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
      counter: listenerLimitHits,
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
