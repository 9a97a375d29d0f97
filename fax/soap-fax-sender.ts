// Sends one fax through a SOAP gateway and waits for its outcome. The send operation (from the gateway's WSDL)
// takes the PDF as base64, the recipient and a cover text and answers a job id, which is recorded (fax-jobs.ts);
// the delivery then waits until the scheduled status polls find the job delivered or failed. A SOAP fault is a
// failure with its fault string (SOAP 1.1 4.4), except a busy one; a busy gateway, an HTTP 5xx without a fault
// and a transport error are retried. The soap library is imported on first use.
import type { SendResult } from '../channels/connector.ts';
import { errorText } from '../runtime/log.ts';
import type { FaxJobs, FaxPoller, PollOutcome } from './fax-jobs.ts';
import type { SoapFaxSettings } from './soap-fax-settings.ts';

export interface OutgoingFax {
  to: string;
  coverText: string;
  fileName: string;
  /**
   * The PDF, or its base64 text as a message carried it: that goes to the gateway as it is, since decoding and
   * encoding it again would cost a copy of the document in each form per fax (see parseFax).
   */
  document: Buffer | { base64: string };
}

type Operation = (args: Record<string, unknown>, options: { timeout: number }) => Promise<[unknown, ...unknown[]]>;

interface SoapFault {
  faultcode?: unknown;
  faultstring?: unknown;
}

export class SoapFaxSender implements FaxPoller {
  readonly #s: SoapFaxSettings;
  #client: Promise<Record<string, unknown>> | undefined;

  constructor(settings: SoapFaxSettings) {
    this.#s = settings;
  }

  get pollIntervalMs(): number {
    return this.#s.pollIntervalMs;
  }

  get giveUpAfterMs(): number {
    return this.#s.giveUpAfterMs;
  }

  /**
   * Sends the fax of delivery `key` unless a job for it is already at the gateway (the hub restarted while it
   * waited), then waits for the job's outcome; `stopping` aborted gives up the wait ('not-sent': the job and
   * its polls stay, and the next attempt waits again).
   */
  async send(
    jobs: FaxJobs,
    key: string,
    where: { channelId: string; destination: string },
    fax: OutgoingFax,
    stopping: AbortSignal,
  ): Promise<SendResult> {
    let job = await jobs.current(key);
    if (job === null) {
      const submitted = await this.#submit(fax);
      if (submitted.status !== 'sent') return submitted;
      await jobs.submitted(key, where.channelId, where.destination, submitted.response, this.#s.pollIntervalMs);
    }
    job = (await jobs.final(key, this.#s.pollIntervalMs, stopping)) ?? null;
    if (job === null) return { status: 'not-sent', error: 'the hub is stopping; the fax job is still polled' };
    await jobs.reported(key);
    const response = `fax job ${job.gatewayJobId}: ${job.status}${job.detail ? ` (${job.detail})` : ''}`;
    if (job.final === 'delivered') return { status: 'sent', response };
    return { status: 'failed', error: response, response };
  }

  async poll(gatewayJobId: string): Promise<PollOutcome> {
    const { fields, operations, delivered, failed } = this.#s;
    let answer: Record<string, unknown>;
    try {
      answer = await this.#call(operations.status, { [fields.jobId]: gatewayJobId });
    } catch (error) {
      const fault = faultOf(error);
      // A fault on the status of a job the gateway gave us is its answer, not an outage.
      if (fault !== undefined && !this.#busy(fault))
        return { kind: 'final', final: 'failed', status: 'fault', detail: fault };
      return { kind: 'error', error: fault ?? errorText(error) };
    }
    const status = String(answer[fields.status] ?? '');
    const detail = answer[fields.detail] === undefined ? undefined : String(answer[fields.detail]);
    const withDetail = detail === undefined ? {} : { detail };
    if (delivered.includes(status)) return { kind: 'final', final: 'delivered', status, ...withDetail };
    if (failed.includes(status)) return { kind: 'final', final: 'failed', status, ...withDetail };
    return { kind: 'pending', status };
  }

  /** 'sent' here means the gateway took the fax; `response` is its job id. */
  async #submit(
    fax: OutgoingFax,
  ): Promise<(SendResult & { response: string }) | Exclude<SendResult, { status: 'sent' }>> {
    const { fields, operations } = this.#s;
    let answer: Record<string, unknown>;
    try {
      answer = await this.#call(operations.send, {
        [fields.recipient]: fax.to,
        [fields.cover]: fax.coverText,
        [fields.fileName]: fax.fileName,
        [fields.document]: Buffer.isBuffer(fax.document) ? fax.document.toString('base64') : fax.document.base64,
      });
    } catch (error) {
      const fault = faultOf(error);
      if (fault !== undefined && !this.#busy(fault)) return { status: 'failed', error: `fax gateway fault: ${fault}` };
      return { status: 'retry', error: `fax gateway ${this.#s.endpoint}: ${fault ?? errorText(error)}` };
    }
    const jobId = answer[fields.jobId];
    if (typeof jobId !== 'string' || jobId === '')
      return { status: 'retry', error: `fax gateway answered ${operations.send} without ${fields.jobId}` };
    return { status: 'sent', response: jobId };
  }

  #busy(fault: string): boolean {
    return fault.toLowerCase().includes(this.#s.busyFault.toLowerCase());
  }

  async #call(operation: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const client = await this.#open();
    const method = client[`${operation}Async`];
    if (typeof method !== 'function') throw new Error(`the WSDL ${this.#s.wsdl} has no operation ${operation}`);
    const [result] = await (method as Operation).call(client, args, { timeout: this.#s.timeoutMs });
    return typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : {};
  }

  #open(): Promise<Record<string, unknown>> {
    this.#client ??= (async () => {
      const soap = await import('soap');
      const client = await soap.createClientAsync(this.#s.wsdl, {}, this.#s.endpoint);
      return client as unknown as Record<string, unknown>;
    })();
    // A WSDL that could not be read is read again on the next attempt (the operator may have fixed the path).
    this.#client.catch(() => (this.#client = undefined));
    return this.#client;
  }
}

/** The fault's code and string when the error is a SOAP fault, else undefined. */
function faultOf(error: unknown): string | undefined {
  const root = (error as { root?: { Envelope?: { Body?: { Fault?: SoapFault } } } } | null)?.root;
  const fault = root?.Envelope?.Body?.Fault;
  if (fault === undefined) return undefined;
  return [fault.faultcode, fault.faultstring].filter((p) => typeof p === 'string' && p !== '').join(': ');
}
