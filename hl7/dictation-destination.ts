// The `rso-reports` destination: ORU^R01 from a dictation system into the report service (dictation-commands.ts).
// Its check refuses before the ACK what no retry can fix (no OBR, a status it does not take, an ED that is not
// a base64 PDF: AR or AE with ERR, as the rso-exams destination answers); an unknown order is accepted and opens
// an exam on the exception list. A refusal of the report service (an author who is not the facility's
// radiologist, a change its state table does not allow) fails the delivery with that reason.
// settings: { facility?, timeZone? }
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
import { applyDictation, findDictatedExam, openExceptionExam } from './dictation-commands.ts';
import { refusalOf } from './exam-check.ts';
import { parseExamDestinationSettings, type ExamDestinationSettings } from './exam-destination.ts';
import { Hl7MappingError } from './mapping-error.ts';
import { Hl7Message, Hl7ParseError } from './message.ts';
import { mapDictatedOru } from './oru-mapping.ts';
import { sendingFacility } from './sending-facility.ts';

class DictationDestination implements DestinationConnector {
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
      const dictated = mapDictatedOru(hl7, this.#settings.timeZone);
      const by = { actor: `channel:${this.#context.channelId}`, via: 'hl7', messageId: message.messageId };
      const facility = () => sendingFacility(this.#exams, hl7, this.#settings.facility);
      let exam = await findDictatedExam(this.#exams, dictated, facility);
      let exception: string | undefined;
      if (exam === undefined)
        ({ exam, reason: exception } = await openExceptionExam(this.#exams, hl7, dictated, await facility(), by));
      const report = await applyDictation(this.#exams, exam, dictated, by);
      const response = `report ${report._id} on exam ${exam.examNumber} is ${report.state}${exception ? `; on the exception list: ${exception}` : ''}`;
      return { status: 'sent', response };
    } catch (error) {
      if (
        error instanceof Hl7MappingError ||
        error instanceof Hl7ParseError ||
        (isExamError(error) && error.code !== 'version-conflict')
      ) {
        this.#context.log.warn('dictated report not applied', { messageId: message.messageId });
        this.#context.log.debug(
          'dictated report not applied',
          { messageId: message.messageId },
          { error: errorText(error) },
        );
        return { status: 'failed', error: errorText(error) };
      }
      return { status: 'retry', error: errorText(error) };
    }
  }

  /** What reading alone decides; an unknown order is not refused (it goes to the exception list). */
  async check(request: CheckRequest): Promise<Refusal | undefined> {
    try {
      const hl7 = Hl7Message.parse(request.content);
      mapDictatedOru(hl7, this.#settings.timeZone);
      return undefined;
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal) return refusal;
      throw error;
    }
  }

  async stop(): Promise<void> {}
}

export function dictationDestinationType(exams: ExamService): DestinationConnectorType<ExamDestinationSettings> {
  return {
    type: 'rso-reports',
    parseSettings: parseExamDestinationSettings,
    create: (settings, context) => new DictationDestination(exams, settings, context),
  };
}
