// The `report-oru` destination: a `report.issued` exam event in, an ORU^R01 out to the EHR of the report's
// facility (its reportDestinations.ehrMllp), sent by the `mllp` destination's own sender, so the ACK rules are
// the engine's (ch. 2.9.2: AA delivered, AE retried, AR failed), on the process's one MLLP sender thread. One
// channel destination serves every facility,
// as `dicom-scu` with target facility-pacs does; a facility without an MLLP EHR has nothing to receive, which
// is recorded as delivered with that reason rather than failed. Version and PDF come from the facility's entry;
// the destination's settings override them for every facility. The ordered queue hands over its due head as a
// run (sendSequence), as it does to the `mllp` destination: one ORU per event loop turn kept delivery behind
// the reports being signed in `npm run bench -- reports`.
// settings: { version?, includePdf?, ackTimeoutMs?, connectTimeoutMs?, sendingApplication?, sendingFacility? }
import type {
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import type { MllpEndpoint, OruVersion } from '../exams/report-destinations.ts';
import { oruVersions } from '../exams/report-destinations.ts';
import { lookUpIssuedReport, type IssuedReport, type ReportDeliveryDeps } from '../exams/report-delivery.ts';
import { errorText } from '../runtime/log.ts';
import {
  expectBoolean,
  expectInteger,
  expectKeys,
  expectObject,
  expectOneOf,
  join,
  optionalString,
} from '../runtime/validate.ts';
import { nextControlId } from './ack.ts';
import { MllpSender } from './mllp-sender.ts';
import { buildOru } from './oru-builder.ts';

export interface ReportOruSettings {
  version?: OruVersion;
  includePdf?: boolean;
  ackTimeoutMs: number;
  connectTimeoutMs: number;
  sendingApplication?: string;
  sendingFacility?: string;
}

function parseSettings(input: unknown, path: string): ReportOruSettings {
  const raw = expectObject(input ?? {}, path);
  expectKeys(raw, path, [
    'version',
    'includePdf',
    'ackTimeoutMs',
    'connectTimeoutMs',
    'sendingApplication',
    'sendingFacility',
  ]);
  const settings: ReportOruSettings = {
    ackTimeoutMs: expectInteger(raw['ackTimeoutMs'] ?? 30_000, join(path, 'ackTimeoutMs'), 1, 600_000),
    connectTimeoutMs: expectInteger(raw['connectTimeoutMs'] ?? 10_000, join(path, 'connectTimeoutMs'), 1, 600_000),
  };
  if (raw['version'] !== undefined) settings.version = expectOneOf(raw['version'], join(path, 'version'), oruVersions);
  if (raw['includePdf'] !== undefined) settings.includePdf = expectBoolean(raw['includePdf'], join(path, 'includePdf'));
  const application = optionalString(raw['sendingApplication'], join(path, 'sendingApplication'));
  if (application !== undefined) settings.sendingApplication = application;
  const facility = optionalString(raw['sendingFacility'], join(path, 'sendingFacility'));
  if (facility !== undefined) settings.sendingFacility = facility;
  return settings;
}

/** Reports looked up and built at once within a run (see sendSequence). */
const chunkSize = 16;

class ReportOruDestination implements DestinationConnector {
  readonly #deps: ReportDeliveryDeps;
  readonly #settings: ReportOruSettings;
  readonly #context: DestinationContext;
  /** One sender per EHR endpoint: a connection stays open to each facility's EHR. */
  readonly #senders = new Map<string, MllpSender>();
  #stopped = false;

  constructor(deps: ReportDeliveryDeps, settings: ReportOruSettings, context: DestinationContext) {
    this.#deps = deps;
    this.#settings = settings;
    this.#context = context;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    let only: SendResult = { status: 'not-sent', error: 'the report-oru destination is stopping' };
    await this.sendSequence([message], (_index, result) => (only = result));
    return only;
  }

  /**
   * A run of the ordered queue's due head: the ORUs of a chunk are looked up and built together (their reads
   * overlap), then those for one EHR go to its sender as one run on the MLLP thread, so the next is sent on the
   * ACK of the previous without a turn of the engine's event loop each. Chunks keep what a failing head costs
   * small: the run stops at the first result that is not sent, and what was built after it is built again.
   */
  async sendSequence(
    messages: OutboundMessage[],
    onResult: (index: number, result: SendResult) => void,
  ): Promise<void> {
    for (let start = 0; start < messages.length; start += chunkSize) {
      const chunk = messages.slice(start, start + chunkSize);
      const done = await this.#sendChunk(chunk, (index, result) => onResult(start + index, result));
      if (!done) return;
    }
  }

  /** True when every message of the chunk was sent. */
  async #sendChunk(
    messages: OutboundMessage[],
    onResult: (index: number, result: SendResult) => void,
  ): Promise<boolean> {
    const prepared = await Promise.all(messages.map((message) => this.#prepare(message)));
    let index = 0;
    while (index < prepared.length) {
      if (this.#stopped) {
        onResult(index, { status: 'not-sent', error: 'the report-oru destination is stopping' });
        return false;
      }
      const first = prepared[index]!;
      if (first.kind === 'result') {
        onResult(index, first.result);
        if (first.result.status !== 'sent') return false;
        index++;
        continue;
      }
      let end = index + 1;
      while (end < prepared.length && sameSender(prepared[end]!, first)) end++;
      const start = index;
      let sent = 0;
      await first.sender.sendSequence(
        prepared.slice(start, end).map((p) => (p as PreparedOru).message),
        (offset, result) => {
          onResult(start + offset, result);
          if (result.status === 'sent') sent++;
        },
      );
      // A result other than sent (or none, from a sender that is stopping) ends the run there.
      if (sent < end - start) return false;
      index = end;
    }
    return true;
  }

  /** The ORU of one queued event, or the result it gets without being sent. */
  async #prepare(message: OutboundMessage): Promise<Prepared> {
    try {
      const lookup = await lookUpIssuedReport(this.#deps, message.content, ['preliminary', 'final', 'amended']);
      if (lookup.kind === 'skip') return sentWithout(lookup.reason);
      if (lookup.kind !== 'deliver') return { kind: 'result', result: { status: lookup.kind, error: lookup.error } };
      const { issued } = lookup;
      const endpoint = issued.facility.reportDestinations.ehrMllp;
      if (endpoint === undefined) return sentWithout(`facility ${issued.facility.code} has no ehrMllp`);
      const oru = await this.#oru(issued, endpoint);
      if (typeof oru !== 'string') return { kind: 'result', result: oru };
      return { kind: 'oru', sender: this.#senderFor(endpoint), message: { ...message, content: oru } };
    } catch (error) {
      // A store read that failed: the event is intact, so it is tried again.
      return { kind: 'result', result: { status: 'retry', error: errorText(error) } };
    }
  }

  async #oru(issued: IssuedReport, endpoint: MllpEndpoint): Promise<string | SendResult> {
    let pdf: Buffer | undefined;
    if (this.#settings.includePdf ?? endpoint.includePdf ?? false) {
      try {
        pdf = (await this.#deps.reports.document(issued.report))?.bytes;
      } catch (error) {
        return { status: 'failed', error: `the report's PDF cannot be read: ${errorText(error)}` };
      }
      // The service renders the PDF as the report is issued; until it is there, the ORU waits for it.
      if (pdf === undefined) return { status: 'retry', error: `report ${issued.report._id} has no PDF yet` };
    }
    return buildOru({
      ...issued,
      version: this.#settings.version ?? endpoint.version ?? '2.5.1',
      controlId: nextControlId(),
      now: new Date(),
      ...(pdf === undefined ? {} : { pdf }),
      ...optional('sendingApplication', this.#settings.sendingApplication),
      ...optional('sendingFacility', this.#settings.sendingFacility),
      ...optional('receivingApplication', endpoint.receivingApplication),
      ...optional('receivingFacility', endpoint.receivingFacility),
    });
  }

  #senderFor(endpoint: MllpEndpoint): MllpSender {
    const key = JSON.stringify([endpoint.host, endpoint.port, endpoint.tls ?? null]);
    let sender = this.#senders.get(key);
    if (sender === undefined) {
      sender = new MllpSender(
        {
          host: endpoint.host,
          port: endpoint.port,
          ackTimeoutMs: this.#settings.ackTimeoutMs,
          connectTimeoutMs: this.#settings.connectTimeoutMs,
          ...(endpoint.tls === undefined ? {} : { tls: endpoint.tls }),
        },
        this.#context,
      );
      this.#senders.set(key, sender);
    }
    return sender;
  }

  stopping(): void {
    this.#stopped = true;
    for (const sender of this.#senders.values()) sender.stopping();
  }

  async stop(): Promise<void> {
    this.stopping();
    await Promise.all([...this.#senders.values()].map((sender) => sender.stop()));
  }
}

interface PreparedOru {
  kind: 'oru';
  sender: MllpSender;
  message: OutboundMessage;
}

type Prepared = PreparedOru | { kind: 'result'; result: SendResult };

function sentWithout(reason: string): Prepared {
  return { kind: 'result', result: { status: 'sent', response: `not sent: ${reason}` } };
}

function sameSender(prepared: Prepared, first: PreparedOru): boolean {
  return prepared.kind === 'oru' && prepared.sender === first.sender;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

export function reportOruDestinationType(deps: ReportDeliveryDeps): DestinationConnectorType<ReportOruSettings> {
  return {
    type: 'report-oru',
    parseSettings,
    create: (settings, context) => new ReportOruDestination(deps, settings, context),
  };
}
