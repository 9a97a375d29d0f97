// The `mllp` destination connector: sends one HL7 v2 message at a time over a persistent MLLP connection
// (hl7/mllp-link.ts, the hub's own framer) and waits for the ACK whose MSA-2 is the sent MSH-10 (ch. 2.9.2:
// AA/CA sent, AE/CE retry, AR/CR failed for good). Each message goes out in its own MSH-18 character set.
// It runs on the engine's thread: a run of queued messages (sendSequence) sends the next one from the
// callback that read the previous ACK, so delivery does not wait for turns of the busy event loop, and no
// thread hand-over is paid per run (`npm run bench -- hl7`). node-hl7-client, which this connector used, is
// not loaded: its bundle cost ~100 MiB in any thread (`npm run bench -- footprint`) and only connected sockets.
import type {
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import { parseSenderTlsSettings } from '../runtime/listener-settings.ts';
import { errorText } from '../runtime/log.ts';
import { type SenderTlsSettings, senderTlsOptions } from '../runtime/tls-sender.ts';
import { expectInteger, expectKeys, expectObject, expectPort, expectString, join } from '../runtime/validate.ts';
import { CharsetError, encodeHl7 } from './charset.ts';
import { Hl7Message, Hl7ParseError } from './message.ts';
import { type Ack, MllpLink } from './mllp-link.ts';

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

/** A message ready for the wire. */
interface Prepared {
  bytes: Buffer;
  controlId: string;
}

/** Nothing went out on the wire: the engine is stopping (stopping()). */
const notSent: SendResult = { status: 'not-sent', error: 'the MLLP destination is stopping' };

export class MllpDestination implements DestinationConnector {
  readonly #settings: MllpDestinationSettings;
  readonly #context: DestinationContext;
  #link: MllpLink | undefined;
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

  /** Sends in order until one is not sent; each result is reported as its ACK comes in. */
  sendSequence(messages: OutboundMessage[], onResult: (index: number, result: SendResult) => void): Promise<void> {
    const run = this.#tail.then(async () => {
      for (const [index, message] of messages.entries()) {
        const result = await this.#sendOne(message);
        onResult(index, result);
        if (result.status !== 'sent') return;
      }
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** No new send starts, and a connection still being made is given up: nothing has gone out on it. */
  stopping(): void {
    this.#stopped = true;
    this.#abandonConnect?.();
  }

  /** The engine has waited for deliveries in flight (its stopTimeoutMs): an ACK still missing is a retry. */
  async stop(): Promise<void> {
    this.stopping();
    await this.#closeLink();
    await this.#tail;
    await this.#closeLink();
  }

  async #sendOne(message: OutboundMessage): Promise<SendResult> {
    if (this.#stopped) return notSent;
    const prepared = prepare(message.content);
    if ('error' in prepared) return { status: 'failed', error: prepared.error };
    const link = this.#link !== undefined && !this.#link.broken ? this.#link : await this.#connect();
    if (!(link instanceof MllpLink)) return link;
    const ack = await link.exchange(prepared.bytes, prepared.controlId, this.#settings.ackTimeoutMs);
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

  #address(): string {
    return `${this.#settings.host}:${this.#settings.port}`;
  }

  /** A new connection; or the result of the send without one. */
  async #connect(): Promise<MllpLink | SendResult> {
    await this.#closeLink();
    const { host, port, connectTimeoutMs, tls } = this.#settings;
    let tlsOptions: ReturnType<typeof senderTlsOptions> | undefined;
    try {
      tlsOptions = tls === undefined ? undefined : senderTlsOptions(tls, host);
    } catch (error) {
      return { status: 'retry', error: `could not connect to ${this.#address()}: ${errorText(error)}` };
    }
    const outcome = await MllpLink.connect(
      { host, port, connectTimeoutMs, ...(tlsOptions === undefined ? {} : { tls: tlsOptions }) },
      (abandon) => {
        this.#abandonConnect = abandon;
        if (this.#stopped) abandon();
      },
    );
    this.#abandonConnect = undefined;
    if (outcome instanceof MllpLink) {
      this.#link = outcome;
      return outcome;
    }
    if (outcome === 'abandoned') return notSent;
    if (outcome === 'timeout')
      return { status: 'retry', error: `could not connect to ${this.#address()} within ${connectTimeoutMs} ms` };
    return { status: 'retry', error: `could not connect to ${this.#address()}: ${outcome.message}` };
  }

  async #closeLink(): Promise<void> {
    const link = this.#link;
    this.#link = undefined;
    await link?.close();
  }
}

function prepare(content: string): Prepared | { error: string } {
  let message: Hl7Message;
  try {
    // MSH alone says what the send needs (MSH-10, MSH-18); the body goes out as it is, for the receiver to judge.
    message = Hl7Message.parse(content.slice(0, mshEnd(content)));
  } catch (error) {
    if (error instanceof Hl7ParseError) return { error: `content is not an HL7 v2 message: ${error.message}` };
    throw error;
  }
  const controlId = message.get('MSH-10');
  if (!controlId) return { error: 'MSH-10 is empty: the ACK could not be matched to the message' };
  try {
    return { bytes: encodeHl7(content, message.get('MSH-18[1]') ?? ''), controlId };
  } catch (error) {
    if (error instanceof CharsetError) return { error: error.message };
    throw error;
  }
}

/** Where the first segment ends (ch. 2.5.1: segments end with a carriage return; some senders use a newline). */
function mshEnd(content: string): number {
  const end = content.search(/[\r\n]/);
  return end === -1 ? content.length : end;
}

export const mllpDestinationType: DestinationConnectorType<MllpDestinationSettings> = {
  type: 'mllp',
  parseSettings: parseMllpDestinationSettings,
  create: (settings, context) => new MllpDestination(settings, context),
};
