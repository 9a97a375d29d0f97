// The `rso-exams` destination: applies an HL7 order or ADT message to the RSO exams (exams/service.ts).
// parse -> sending facility (MSH-4) -> mapping (pure) -> exam commands. A message that cannot work however often
// it is tried (a mapping error, a refused lifecycle change, an unknown facility) is `failed`, with the text an
// analyst sees on the message; anything else (the store) is `retry`, so the queue tries again with backoff.
// Most such messages never get here: the destination's check (exam-check.ts) refuses them before the ACK.
//
// The registry creates connectors from (settings, context) alone, so the ExamService comes in through the
// factory: hub.ts registers `examDestinationType(exams)` (see registerHl7ExamMapping in register.ts).
import type {
  CheckRequest,
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  Refusal,
  SendResult,
} from '../channels/connector.ts';
import { isExamError } from '../exams/errors.ts';
import type { ExamService } from '../exams/service.ts';
import { errorText } from '../runtime/log.ts';
import { expectKeys, expectObject, join, optionalString, ValidationError } from '../runtime/validate.ts';
import { checkExamMessage } from './exam-check.ts';
import { applyExamMessage } from './exam-commands.ts';
import { mapExamMessage } from './exam-mapping.ts';
import { checkTimeZone } from './hl7-dates.ts';
import { Hl7MappingError } from './mapping-error.ts';
import { Hl7Message, Hl7ParseError } from './message.ts';
import { sendingFacility } from './sending-facility.ts';

export interface ExamDestinationSettings {
  /** Facility code used when MSH-4 is empty (a channel that serves exactly one facility). */
  facility?: string;
  /** IANA time zone of the sender, for HL7 times without an offset when MSH-7 has none either. */
  timeZone: string;
}

export function parseExamDestinationSettings(input: unknown, path: string): ExamDestinationSettings {
  const value = expectObject(input ?? {}, path);
  expectKeys(value, path, ['facility', 'timeZone']);
  const timeZone = optionalString(value['timeZone'], join(path, 'timeZone')) ?? 'UTC';
  try {
    checkTimeZone(timeZone);
  } catch {
    throw new ValidationError(
      join(path, 'timeZone'),
      `unknown time zone '${timeZone}' (expected an IANA name such as America/Chicago)`,
    );
  }
  const facility = optionalString(value['facility'], join(path, 'facility'));
  return facility === undefined ? { timeZone } : { facility, timeZone };
}

/** Permanent: retrying the same message cannot succeed. Version conflicts are races: the retry re-reads. */
function isPermanent(error: unknown): boolean {
  if (error instanceof Hl7MappingError || error instanceof Hl7ParseError) return true;
  return isExamError(error) && error.code !== 'version-conflict';
}

class ExamDestination implements DestinationConnector {
  readonly #exams: ExamService;
  readonly #settings: ExamDestinationSettings;
  readonly #context: DestinationContext;

  constructor(exams: ExamService, settings: ExamDestinationSettings, context: DestinationContext) {
    this.#exams = exams;
    this.#settings = settings;
    this.#context = context;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    try {
      const hl7 = Hl7Message.parse(message.content);
      const facility = await sendingFacility(this.#exams, hl7, this.#settings.facility);
      const mapped = mapExamMessage(hl7, { facility, timeZone: this.#settings.timeZone });
      const by = { actor: `channel:${this.#context.channelId}`, via: 'hl7', messageId: message.messageId };
      const response = await applyExamMessage(this.#exams, mapped, facility.code, by);
      this.#context.log.debug('HL7 message applied to exams', { messageId: message.messageId, response });
      return { status: 'sent', response };
    } catch (error) {
      const text = errorText(error);
      // The text may name order numbers; the field alone is safe above debug.
      const field = error instanceof Hl7MappingError || isExamError(error) ? error.field : undefined;
      if (isPermanent(error)) {
        this.#context.log.warn('HL7 message not applied to exams', { messageId: message.messageId, field });
        this.#context.log.debug('HL7 message not applied to exams', { messageId: message.messageId }, { error: text });
        return { status: 'failed', error: text };
      }
      this.#context.log.warn('HL7 message could not be applied to exams, will retry', {
        messageId: message.messageId,
        error: error instanceof Error ? error.name : 'error',
      });
      return { status: 'retry', error: text };
    }
  }

  /** Refuses before the ACK what send() would refuse for good (exam-check.ts). */
  check(request: CheckRequest): Promise<Refusal | undefined> {
    return checkExamMessage(this.#exams, request, this.#settings);
  }

  async stop(): Promise<void> {}
}

export function examDestinationType(exams: ExamService): DestinationConnectorType<ExamDestinationSettings> {
  return {
    type: 'rso-exams',
    parseSettings: parseExamDestinationSettings,
    create: (settings, context) => new ExamDestination(exams, settings, context),
  };
}
