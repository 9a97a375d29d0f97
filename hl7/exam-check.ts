// The rso-exams destination's check (DestinationConnector.check): what can be decided about an HL7 order or
// ADT message by reading alone, so the sender hears AE/AR with an ERR before the ACK instead of an AA for a
// message the exams then refuse (ch. 2.9.2: AA means the application accepted it). Checked: the sending
// facility (MSH-4); the mapping (required segments and fields, codes, dates); the patient and each new order as
// ExamService.checkOrder sees them; and for XO/CA/DC/OC/SC that the order exists – as an exam, earlier in the
// same message, or in a message still queued for the destination (acknowledged, not applied yet).
//
// AR where the hub does not take that kind or form of message (an unknown sender, a missing segment, a type or
// code it has no action for); AE where the form is taken and a value is wrong (HL7 table 0357 codes in ERR-3).
import type { CheckRequest, Refusal } from '../channels/connector.ts';
import { isExamError, type ExamError } from '../exams/errors.ts';
import type { ExamIdentifier } from '../exams/exam.ts';
import type { Facility } from '../exams/facility.ts';
import { checkPatientInput, type PatientInput } from '../exams/patient.ts';
import type { ExamService } from '../exams/service.ts';
import { errorCodes } from './ack.ts';
import { findExam, unknownOrder } from './exam-commands.ts';
import { mapExamMessage } from './exam-mapping.ts';
import { Hl7MappingError, type MappingProblem } from './mapping-error.ts';
import { Hl7Message, Hl7ParseError } from './message.ts';
import type { MappedOrder, MappedOrders } from './order-mapping.ts';
import { sendingFacility } from './sending-facility.ts';

export interface ExamCheckSettings {
  facility?: string;
  timeZone: string;
}

/**
 * How many queued messages are searched for an order a command needs. A longer queue (the exams destination has
 * been failing for a while) is not searched to its end: the check then leaves the order to the destination.
 */
const queuedLimit = 1000;

export async function checkExamMessage(
  exams: ExamService,
  request: CheckRequest,
  settings: ExamCheckSettings,
): Promise<Refusal | undefined> {
  try {
    const message = Hl7Message.parse(request.content);
    const facility = await sendingFacility(exams, message, settings.facility);
    const mapped = mapExamMessage(message, { facility, timeZone: settings.timeZone });
    if (mapped.kind === 'patient') checkPatientInput(mapped.patient);
    if (mapped.kind === 'merge') for (const merge of mapped.merges) checkPatientInput(merge.survivor);
    if (mapped.kind === 'orders') await checkOrders(exams, mapped, facility, request, settings);
    return undefined;
  } catch (error) {
    const refusal = refusalOf(error);
    if (refusal) return refusal;
    throw error;
  }
}

async function checkOrders(
  exams: ExamService,
  mapped: MappedOrders,
  facility: Facility,
  request: CheckRequest,
  settings: ExamCheckSettings,
): Promise<void> {
  checkPatientInput(mapped.patient);
  // Orders created by earlier groups of this message: a NW and an XO of the same order may share one ORM.
  const created: ExamIdentifier[][] = [];
  let queued: QueuedOrders | undefined;
  for (const order of mapped.orders) {
    const earlier = created.some((ids) => sharesIdentifier(ids, order.identifiers));
    if (order.action === 'create') {
      // A NW for a known order is an update (exam-commands.ts); only a new one is checked as createOrder would.
      const known = earlier || (await findExam(exams, order, facility.code)) !== undefined;
      if (!known) await exams.checkOrder(newOrder(order, facility.code, mapped.patient));
      created.push(order.identifiers);
      continue;
    }
    if (earlier || (await findExam(exams, order, facility.code))) continue;
    queued ??= new QueuedOrders(exams, request, settings);
    if (await queued.creates(order, facility.code)) continue;
    // Applied (and so taken off the queue) between the two looks: the exam exists now.
    if (await findExam(exams, order, facility.code)) continue;
    throw unknownOrder(order, facility.code);
  }
}

type CheckedOrder = Parameters<ExamService['checkOrder']>[0];

function newOrder(order: MappedOrder, facility: string, patient: PatientInput): CheckedOrder {
  // The mapping refuses a NW without OBR-4, so the procedure is there.
  const input: CheckedOrder = { facility, patient, identifiers: order.identifiers, procedure: order.procedure! };
  if (order.modality) input.modality = order.modality;
  if (order.priority) input.priority = order.priority;
  if (order.scheduledAt) input.scheduledAt = order.scheduledAt;
  if (order.reason) input.reason = order.reason;
  return input;
}

function sharesIdentifier(a: readonly ExamIdentifier[], b: readonly ExamIdentifier[]): boolean {
  return a.some((x) => b.some((y) => x.kind === y.kind && x.value === y.value && x.system === y.system));
}

/** The orders that messages still queued for the destination create, read once per check and only if needed. */
class QueuedOrders {
  readonly #exams: ExamService;
  readonly #request: CheckRequest;
  readonly #settings: ExamCheckSettings;
  #contents: string[] | undefined;
  readonly #facilities = new Map<string, Promise<Facility | undefined>>();

  constructor(exams: ExamService, request: CheckRequest, settings: ExamCheckSettings) {
    this.#exams = exams;
    this.#request = request;
    this.#settings = settings;
  }

  async creates(order: MappedOrder, facility: string): Promise<boolean> {
    this.#contents ??= await this.#request.queued(queuedLimit);
    // A queue longer than the limit may hold the order past its end: not knowing, the check does not refuse.
    if (this.#contents.length >= queuedLimit) return true;
    for (const content of this.#contents) {
      // Most queued messages do not mention the order at all; parsing only those that do keeps this cheap.
      if (!order.identifiers.some((id) => content.includes(id.value))) continue;
      const orders = await this.#ordersOf(content, facility);
      if (orders.some((o) => o.action === 'create' && sharesIdentifier(o.identifiers, order.identifiers))) return true;
    }
    return false;
  }

  async #ordersOf(content: string, facility: string): Promise<MappedOrder[]> {
    try {
      const message = Hl7Message.parse(content);
      const sender = await this.#facilityOf(message);
      if (sender?.code !== facility) return [];
      const mapped = mapExamMessage(message, { facility: sender, timeZone: this.#settings.timeZone });
      return mapped.kind === 'orders' ? mapped.orders : [];
    } catch {
      // A queued message that will fail at the destination creates nothing.
      return [];
    }
  }

  #facilityOf(message: Hl7Message): Promise<Facility | undefined> {
    const key = message.getEncoded('MSH-4') ?? '';
    let found = this.#facilities.get(key);
    if (!found) {
      found = sendingFacility(this.#exams, message, this.#settings.facility).catch(() => undefined);
      this.#facilities.set(key, found);
    }
    return found;
  }
}

const problems: Readonly<Record<MappingProblem, { kind: Refusal['kind']; code: string }>> = {
  'segment-missing': { kind: 'rejected', code: errorCodes.segmentSequence.code },
  'field-missing': { kind: 'error', code: errorCodes.requiredFieldMissing.code },
  malformed: { kind: 'error', code: errorCodes.dataType.code },
  'unknown-code': { kind: 'error', code: errorCodes.tableValueNotFound.code },
  'unsupported-code': { kind: 'rejected', code: errorCodes.tableValueNotFound.code },
  'unsupported-type': { kind: 'rejected', code: errorCodes.unsupportedMessageType.code },
  'unsupported-event': { kind: 'rejected', code: errorCodes.unsupportedEventCode.code },
  'unknown-sender': { kind: 'rejected', code: errorCodes.tableValueNotFound.code },
  'unknown-order': { kind: 'error', code: errorCodes.unknownKeyIdentifier.code },
  'duplicate-order': { kind: 'error', code: errorCodes.duplicateKeyIdentifier.code },
};

/** A refusal for an error about the message's content; undefined for anything else (the store failing). */
export function refusalOf(error: unknown): Refusal | undefined {
  if (error instanceof Hl7MappingError) return { ...problems[error.problem], error: error.message, path: error.field };
  if (error instanceof Hl7ParseError) {
    return { kind: 'rejected', code: errorCodes.segmentSequence.code, error: error.message, path: 'MSH' };
  }
  if (isExamError(error) && error.code !== 'version-conflict') return examRefusal(error);
  return undefined;
}

/** Where the exam domain's field names come from in an order message. */
function hl7PathOf(field: string): string | undefined {
  if (field === 'facility') return 'MSH-4';
  if (field.startsWith('procedure')) return 'OBR-4';
  if (field.startsWith('patient.identifiers')) return 'PID-3';
  if (field.startsWith('patient.name')) return 'PID-5';
  if (field.startsWith('patient.birthDate')) return 'PID-7';
  if (field.startsWith('patient.sex')) return 'PID-8';
  if (field.startsWith('patient')) return 'PID';
  if (field.startsWith('identifiers')) return 'ORC-2';
  return undefined;
}

function examRefusal(error: ExamError): Refusal {
  const path = hl7PathOf(error.field);
  const code =
    error.code === 'duplicate'
      ? errorCodes.duplicateKeyIdentifier.code
      : error.code === 'not-found'
        ? errorCodes.unknownKeyIdentifier.code
        : error.code === 'invalid'
          ? errorCodes.dataType.code
          : errorCodes.applicationInternalError.code;
  // An inactive or unknown facility is the sender the hub does not serve, as with MSH-4 above.
  const kind = error.field === 'facility' ? 'rejected' : 'error';
  return { kind, code, error: error.message, ...(path === undefined ? {} : { path }) };
}
