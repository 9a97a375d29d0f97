// Runs a mapped HL7 message as ExamService commands and says in one line what happened ("exam RSO-2026-000012
// created"), which the message store keeps as the destination's response. Redelivery is expected (a queue
// delivers at least once; a sender resends after a lost ACK), so every command is safe to repeat: a NW for an
// order the facility already sent updates it, a cancel of a cancelled exam is a no-op, merges finish.
import type { ChangeSource } from '../exams/change.ts';
import { DuplicateError } from '../exams/errors.ts';
import type { Exam, OrderChanges, OrderInput } from '../exams/exam.ts';
import type { Patient, PatientIdentifier } from '../exams/patient.ts';
import type { ExamService } from '../exams/service.ts';
import type { MappedMerge, MappedPatient } from './adt-mapping.ts';
import type { MappedExamMessage } from './exam-mapping.ts';
import { Hl7MappingError } from './mapping-error.ts';
import type { MappedOrder, MappedOrders } from './order-mapping.ts';

export async function applyExamMessage(
  exams: ExamService,
  mapped: MappedExamMessage,
  facility: string,
  by: ChangeSource,
): Promise<string> {
  switch (mapped.kind) {
    case 'orders':
      return applyOrders(exams, mapped, facility, by);
    case 'patient':
      return applyPatient(exams, mapped, by);
    case 'merge':
      return applyMerges(exams, mapped, by);
  }
}

async function applyOrders(
  exams: ExamService,
  mapped: MappedOrders,
  facility: string,
  by: ChangeSource,
): Promise<string> {
  // A refused command changes nothing: the orders that must exist are looked up before the patient is recorded.
  await requireKnownOrders(exams, mapped.orders, facility);
  const { patient } = await exams.recordPatient(mapped.patient, by);
  const lines: string[] = [];
  // In message order: a later group may refer to the same order as an earlier one (NW then XO in one ORM).
  for (const order of mapped.orders) lines.push(await applyOrder(exams, order, facility, patient, by));
  return lines.join('; ');
}

function applyOrder(
  exams: ExamService,
  order: MappedOrder,
  facility: string,
  patient: Patient,
  by: ChangeSource,
): Promise<string> {
  switch (order.action) {
    case 'create':
      return createOrder(exams, order, facility, patient, by);
    case 'change':
      return changeOrder(exams, order, facility, patient._id, by);
    case 'cancel':
      return cancelOrder(exams, order, facility, by);
    case 'status':
      return reportStatus(exams, order, facility, by);
  }
}

/** The exam of an order: by its placer, filler, accession number or study uid, in that order. */
export async function findExam(exams: ExamService, order: MappedOrder, facility: string): Promise<Exam | undefined> {
  for (const id of order.identifiers) {
    const exam = await exams.findByIdentifier(
      facility,
      id.kind,
      id.value,
      id.kind === 'external' ? id.system : undefined,
    );
    if (exam) return exam;
  }
  return undefined;
}

async function requireExam(exams: ExamService, order: MappedOrder, facility: string): Promise<Exam> {
  const exam = await findExam(exams, order, facility);
  if (exam) return exam;
  throw unknownOrder(order, facility);
}

export function unknownOrder(order: MappedOrder, facility: string): Hl7MappingError {
  const numbers = order.identifiers
    .filter((id) => id.kind !== 'external')
    .map((id) => `${id.kind} number '${id.value}'`);
  const needs = `${order.controlField} ${order.orderControl} needs an existing order`;
  const text = `${order.identifierField}: no exam at ${facility} with ${numbers.join(' or ')} (${needs})`;
  return new Hl7MappingError(order.identifierField, text, 'unknown-order');
}

/** XO, CA, DC and status groups need an existing order, or one that an earlier NW group of the message creates. */
async function requireKnownOrders(exams: ExamService, orders: readonly MappedOrder[], facility: string): Promise<void> {
  const created = new Set<string>();
  for (const order of orders) {
    const keys = order.identifiers.map((id) => `${id.kind}|${id.system ?? ''}|${id.value}`);
    if (order.action === 'create') for (const key of keys) created.add(key);
    else if (!keys.some((key) => created.has(key))) await requireExam(exams, order, facility);
  }
}

function changesOf(order: MappedOrder): OrderChanges {
  const changes: OrderChanges = { identifiers: order.identifiers };
  if (order.procedure) changes.procedure = order.procedure;
  if (order.modality) changes.modality = order.modality;
  if (order.priority) changes.priority = order.priority;
  if (order.scheduledAt) changes.scheduledAt = order.scheduledAt;
  if (order.reason) changes.reason = order.reason;
  return changes;
}

function orderInput(order: MappedOrder, facility: string, patientId: string): OrderInput {
  // The mapping refuses a NW without OBR-4, so the procedure is there.
  const input: OrderInput = {
    facility,
    patient: { id: patientId },
    identifiers: order.identifiers,
    procedure: order.procedure!,
  };
  if (order.modality) input.modality = order.modality;
  if (order.priority) input.priority = order.priority;
  if (order.scheduledAt) input.scheduledAt = order.scheduledAt;
  if (order.authoredOn) input.authoredOn = order.authoredOn;
  if (order.reason) input.reason = order.reason;
  return input;
}

async function createOrder(
  exams: ExamService,
  order: MappedOrder,
  facility: string,
  patient: Patient,
  by: ChangeSource,
): Promise<string> {
  const existing = await findExam(exams, order, facility);
  if (existing) return updateKnownOrder(exams, existing, order, facility, patient._id, by);
  try {
    // recordPatient gave the survivor of any merge, so the service need not read it again.
    const exam = await exams.createOrder(orderInput(order, facility, patient._id), by, { patient });
    return `exam ${exam.examNumber} created`;
  } catch (error) {
    // Another delivery of the same order won the race between our lookup and our insert.
    const raced = error instanceof DuplicateError ? await findExam(exams, order, facility) : undefined;
    if (raced) return updateKnownOrder(exams, raced, order, facility, patient._id, by);
    throw error;
  }
}

/** NW for an order the facility already sent: a redelivery or a resend, so an update, not a duplicate. */
async function updateKnownOrder(
  exams: ExamService,
  exam: Exam,
  order: MappedOrder,
  facility: string,
  patientId: string,
  by: ChangeSource,
): Promise<string> {
  const owner = await exams.patients.resolve(exam.patientId);
  if (owner._id !== patientId) {
    // A placer number reused for another patient is a sender error; moving the exam would hide it.
    throw new Hl7MappingError(
      order.identifierField,
      `${order.identifierField}: the order number is already used at ${facility} by exam ${exam.examNumber} of another patient`,
      'duplicate-order',
    );
  }
  const updated = await exams.updateOrder(exam.examNumber, changesOf(order), by);
  return `exam ${exam.examNumber} ${updated.version === exam.version ? 'already exists' : 'updated'} (NW for a known order)`;
}

async function changeOrder(
  exams: ExamService,
  order: MappedOrder,
  facility: string,
  patientId: string,
  by: ChangeSource,
): Promise<string> {
  const exam = await requireExam(exams, order, facility);
  // XO may correct the patient (ch. 4.5.1.1: a changed order carries the current patient): move the exam.
  const updated = await exams.updateOrder(exam.examNumber, { ...changesOf(order), patientId }, by);
  return `exam ${exam.examNumber} ${updated.version === exam.version ? 'unchanged' : 'updated'}`;
}

async function cancelOrder(
  exams: ExamService,
  order: MappedOrder,
  facility: string,
  by: ChangeSource,
): Promise<string> {
  const exam = await requireExam(exams, order, facility);
  if (exam.status === 'cancelled') return `exam ${exam.examNumber} already cancelled`;
  await exams.cancel(exam.examNumber, by, { reason: `${order.controlField} ${order.orderControl}` });
  return `exam ${exam.examNumber} cancelled`;
}

async function reportStatus(
  exams: ExamService,
  order: MappedOrder,
  facility: string,
  by: ChangeSource,
): Promise<string> {
  const exam = await requireExam(exams, order, facility);
  const status = order.status!;
  if (status.to === undefined) return `exam ${exam.examNumber}: order status ${status.code} noted, no change`;
  if (status.to === 'cancelled') return cancelOrder(exams, order, facility, by);
  if (exam.status === status.to) return `exam ${exam.examNumber} already ${exam.status}`;
  // CM after the study already arrived (or the exam moved on): the hub is ahead of the facility's RIS.
  if (exam.status !== 'requested' && exam.status !== 'reactivated' && exam.status !== 'cancelled') {
    return `exam ${exam.examNumber}: order status ${status.code} noted, exam is already ${exam.status}`;
  }
  await exams.changeStatus(exam.examNumber, status.to, by, { reason: `${status.field} ${status.code}` });
  return `exam ${exam.examNumber} ${status.to}`;
}

async function applyPatient(exams: ExamService, mapped: MappedPatient, by: ChangeSource): Promise<string> {
  const { patient, created } = await exams.recordPatient(mapped.patient, by);
  return `patient ${patient._id} ${created ? 'created' : 'updated'}`;
}

async function findPatient(exams: ExamService, identifiers: readonly PatientIdentifier[]) {
  for (const id of identifiers) {
    const patient = await exams.patients.findByIdentifier(id.system, id.value);
    if (patient) return patient;
  }
  return undefined;
}

async function applyMerges(exams: ExamService, mapped: MappedMerge, by: ChangeSource): Promise<string> {
  const lines: string[] = [];
  for (const merge of mapped.merges) {
    const prior = await findPatient(exams, merge.prior);
    // The hub sees only patients with orders: an A40 for anyone else is normal and changes nothing here.
    if (!prior) {
      lines.push(`${merge.at}-1: the prior patient is not known to the hub, nothing to merge`);
      continue;
    }
    const { patient: survivor } = await exams.recordPatient(merge.survivor, by);
    if (survivor._id === prior._id) {
      lines.push(`patient ${prior._id}: PID-3 and ${merge.at}-1 name the same patient, nothing to merge`);
      continue;
    }
    const { movedExams } = await exams.mergePatients(prior._id, survivor._id, by);
    lines.push(`patient ${prior._id} merged into ${survivor._id}, ${movedExams.length} exam(s) moved`);
  }
  return lines.join('; ');
}
