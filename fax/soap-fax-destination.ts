// The `soap-fax` destination: each message is one fax, its content JSON { to, coverText, fileName?, documentBase64 }
// (`to` in E.164). The delivery stays queued until the gateway's status is final (soap-fax-sender.ts), so the
// message browser shows a fax as sent only once the gateway says it was delivered. Use an unordered queue: a fax
// takes minutes, and an ordered queue would hold every later fax behind it.
import { setMaxListeners } from 'node:events';
import type {
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import { expectE164 } from '../runtime/addresses.ts';
import { ValidationError, expectKeys, expectObject, expectString, join, optionalString } from '../runtime/validate.ts';
import { type FaxJobs, faxJobKey } from './fax-jobs.ts';
import { type OutgoingFax, SoapFaxSender } from './soap-fax-sender.ts';
import { parseSoapFaxSettings, type SoapFaxSettings, soapFaxKeys } from './soap-fax-settings.ts';

/** RFC 4648 4 base64, with the white space XML Schema's base64Binary allows (the gateway decodes it). */
const base64Text = /^[A-Za-z0-9+/=\s]*$/;

export function parseFax(value: unknown, at: string): OutgoingFax {
  const fax = expectObject(value, at);
  expectKeys(fax, at, ['to', 'coverText', 'fileName', 'documentBase64']);
  const base64 = expectString(fax['documentBase64'], join(at, 'documentBase64'));
  if (!base64Text.test(base64)) throw new ValidationError(join(at, 'documentBase64'), 'expected base64 text');
  return {
    to: expectE164(fax['to'], join(at, 'to')),
    coverText: expectString(fax['coverText'], join(at, 'coverText')),
    fileName: optionalString(fax['fileName'], join(at, 'fileName')) ?? 'document.pdf',
    document: { base64 },
  };
}

/** A fax connector for one destination: what the report and dispatch destinations send their faxes through. */
export class FaxLine {
  readonly #sender: SoapFaxSender;
  readonly #jobs: FaxJobs | undefined;
  readonly #where: { channelId: string; destination: string };
  readonly #unregister: () => void;
  readonly #stopping = new AbortController();

  constructor(settings: SoapFaxSettings, jobs: FaxJobs | undefined, context: DestinationContext) {
    this.#sender = new SoapFaxSender(settings);
    // Each fax in flight waits on the signal; a destination's concurrency may be past Node's warning at 10.
    setMaxListeners(0, this.#stopping.signal);
    this.#jobs = jobs;
    this.#where = { channelId: context.channelId, destination: context.destinationName };
    this.#unregister = jobs?.register(context.channelId, context.destinationName, this.#sender) ?? (() => {});
  }

  /** `part` tells apart several faxes of one message (one per recipient). */
  async send(message: OutboundMessage, fax: OutgoingFax, part = ''): Promise<SendResult> {
    if (this.#jobs === undefined) return { status: 'retry', error: 'fax status polling is not wired in this process' };
    const key = faxJobKey(this.#where.channelId, this.#where.destination, `${message.messageId}${part}`);
    return this.#sender.send(this.#jobs, key, this.#where, fax, this.#stopping.signal);
  }

  stopping(): void {
    this.#stopping.abort();
  }

  stop(): void {
    this.#stopping.abort();
    this.#unregister();
  }
}

export function soapFaxDestinationType(jobs: FaxJobs | undefined): DestinationConnectorType<SoapFaxSettings> {
  return {
    type: 'soap-fax',
    parseSettings(input: unknown, at: string): SoapFaxSettings {
      const value = expectObject(input, at);
      expectKeys(value, at, soapFaxKeys);
      return parseSoapFaxSettings(value, at);
    },
    create(settings, context): DestinationConnector {
      const line = new FaxLine(settings, jobs, context);
      return {
        async send(message: OutboundMessage): Promise<SendResult> {
          let fax: OutgoingFax;
          try {
            fax = parseFax(JSON.parse(message.content), 'content');
          } catch (error) {
            return { status: 'failed', error: error instanceof Error ? error.message : String(error) };
          }
          return line.send(message, fax);
        },
        stopping: () => line.stopping(),
        stop: async () => line.stop(),
      };
    },
  };
}
