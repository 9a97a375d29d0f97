// The `fhir-report-push` destination: a `report.issued` exam event in, the report as a DiagnosticReport PUT to the
// facility's FHIR base (reportDestinations.ehrFhirBaseUrl) as a conditional update by identifier (R4 http.html
// #cond-update: `PUT DiagnosticReport?identifier=urn:rso-hub:report-id|<id>`; no match creates, one match
// updates). A resend after a lost answer therefore updates the report the first try made instead of adding a
// second one. 2xx is delivered; a 4xx is failed for good with the server's OperationOutcome kept as the
// delivery's response, except 401 (the token is renewed once), 408 and 429, which ask to try again later;
// 5xx, a timeout or no connection is a retry.
// settings: { timeoutMs? }
import type {
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import { lookUpIssuedReport, type IssuedReport, type ReportDeliveryDeps } from '../exams/report-delivery.ts';
import type { FhirPushAuth } from '../exams/report-destinations.ts';
import { errorText } from '../runtime/log.ts';
import { expectInteger, expectKeys, expectObject, join } from '../runtime/validate.ts';
import { PushAuth, PushAuthError } from './push-auth.ts';
import { reportIdSystem, reportPushResource, type PushDocument } from './report-push-resource.ts';

export interface ReportPushSettings {
  timeoutMs: number;
}

function parseSettings(input: unknown, path: string): ReportPushSettings {
  const raw = expectObject(input ?? {}, path);
  expectKeys(raw, path, ['timeoutMs']);
  return { timeoutMs: expectInteger(raw['timeoutMs'] ?? 30_000, join(path, 'timeoutMs'), 1, 600_000) };
}

/** What a delivery keeps of the server's answer: bounded, so a huge error page does not bloat the message store. */
const maxResponseChars = 16_384;

class ReportPushDestination implements DestinationConnector {
  readonly #deps: ReportDeliveryDeps;
  readonly #settings: ReportPushSettings;
  readonly #context: DestinationContext;
  readonly #auth: PushAuth;
  readonly #inFlight = new Set<AbortController>();
  #stopped = false;

  constructor(deps: ReportDeliveryDeps, settings: ReportPushSettings, context: DestinationContext) {
    this.#deps = deps;
    this.#settings = settings;
    this.#context = context;
    this.#auth = new PushAuth(settings.timeoutMs);
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    if (this.#stopped) return { status: 'not-sent', error: 'the fhir-report-push destination is stopping' };
    const lookup = await lookUpIssuedReport(this.#deps, message.content, [
      'preliminary',
      'final',
      'amended',
      'entered-in-error',
    ]);
    if (lookup.kind === 'skip') return { status: 'sent', response: `not sent: ${lookup.reason}` };
    if (lookup.kind !== 'deliver') return { status: lookup.kind, error: lookup.error };
    const { issued } = lookup;
    const { ehrFhirBaseUrl: base, ehrFhirAuth: auth } = issued.facility.reportDestinations;
    if (base === undefined)
      return { status: 'sent', response: `not sent: facility ${issued.facility.code} has no ehrFhirBaseUrl` };
    let document: PushDocument | undefined;
    try {
      const found = await this.#deps.reports.document(issued.report);
      if (found !== undefined)
        document = { contentType: found.attachment.contentType, title: found.attachment.title, bytes: found.bytes };
    } catch (error) {
      return { status: 'failed', error: `the report's document cannot be read: ${errorText(error)}` };
    }
    const body = JSON.stringify(reportPushResource(issued, document));
    const first = await this.#put(base, auth, issued, body);
    if (first.status !== 401) return resultOf(first);
    // An expired or revoked token: one new grant, one more try, within this attempt.
    this.#auth.forget(auth);
    return resultOf(await this.#put(base, auth, issued, body));
  }

  async #put(base: string, auth: FhirPushAuth | undefined, issued: IssuedReport, body: string): Promise<Answer> {
    const url = `${base}/DiagnosticReport?identifier=${encodeURIComponent(`${reportIdSystem}|${issued.report._id}`)}`;
    let authorization: string | undefined;
    try {
      authorization = await this.#auth.header(auth);
    } catch (error) {
      if (error instanceof PushAuthError) return { status: 0, error: error.message };
      throw error;
    }
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${this.#settings.timeoutMs} ms`)),
      this.#settings.timeoutMs,
    );
    try {
      const response = await fetch(url, {
        method: 'PUT',
        headers: {
          'content-type': 'application/fhir+json',
          accept: 'application/fhir+json',
          ...(authorization === undefined ? {} : { authorization }),
        },
        body,
        signal: controller.signal,
      });
      const text = (await response.text()).slice(0, maxResponseChars);
      return { status: response.status, text, location: response.headers.get('location') ?? undefined };
    } catch (error) {
      // fetch says only "fetch failed"; the cause names the socket error (ECONNREFUSED, ECONNRESET).
      const cause = error instanceof Error && error.cause !== undefined ? `: ${errorText(error.cause)}` : '';
      const reason = controller.signal.aborted ? errorText(controller.signal.reason) : `${errorText(error)}${cause}`;
      this.#context.log.warn('FHIR report push failed', { base, error: reason });
      return { status: 0, error: `PUT ${base}/DiagnosticReport: ${reason}` };
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }

  stopping(): void {
    this.#stopped = true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const controller of this.#inFlight) controller.abort(new Error('the hub is stopping'));
  }
}

/** status 0: no HTTP answer (connection, timeout, auth grant); `error` says why. */
type Answer = { status: number; text?: string; location?: string; error?: string };

function resultOf(answer: Answer): SendResult {
  if (answer.status === 0) return { status: 'retry', error: answer.error ?? 'no answer' };
  const summary = `HTTP ${answer.status}${answer.location === undefined ? '' : ` ${answer.location}`}`;
  const response = answer.text === undefined || answer.text === '' ? summary : `${summary}\n${answer.text}`;
  if (answer.status >= 200 && answer.status < 300) return { status: 'sent', response };
  if (answer.status === 408 || answer.status === 429 || answer.status >= 500)
    return { status: 'retry', error: `the FHIR server answered ${answer.status}`, response };
  return { status: 'failed', error: `the FHIR server refused the report (${answer.status})`, response };
}

export function reportPushDestinationType(deps: ReportDeliveryDeps): DestinationConnectorType<ReportPushSettings> {
  return {
    type: 'fhir-report-push',
    parseSettings,
    create: (settings, context) => new ReportPushDestination(deps, settings, context),
  };
}
