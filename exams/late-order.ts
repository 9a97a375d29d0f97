// Late order merge. Images that matched no order made an exam of their own (origin `images`,
// `awaitingOrder`, dicom/study-matching.ts). When the order for them arrives later (HL7 or FHIR), it must
// become that exam, not a second one. This file is the whole rule: which exam qualifies, and the one write that
// merges the order into it.
import { diff, type ChangeSource, type FieldValue } from './change.ts';
import { checkIdentifiers, isPatientInput, lateOrderKeyOf, priorityRank, type Exam, type ExamIdentifier, type OrderInput } from './exam.ts';
import { examChange, type ExamWrites } from './exam-writes.ts';
import { flat, summarize, type OrderChecks } from './order-checks.ts';
import type { PatientCommands } from './patient-commands.ts';
import type { Patient, PatientRecords } from './patient.ts';
import type { Logger } from '../runtime/log.ts';

/**
 * How long an exam created from images waits for its order to be merged by date and modality alone (without
 * an equal accession number): a late order normally follows the images within hours.
 */
const lateOrderWindowMs = 7 * 24 * 60 * 60 * 1000;

export class LateOrders {
  readonly #writes: ExamWrites;
  readonly #checks: OrderChecks;
  readonly #patientCommands: PatientCommands;
  readonly #patients: PatientRecords;
  readonly #log: Logger;

  constructor(writes: ExamWrites, checks: OrderChecks, patientCommands: PatientCommands, patients: PatientRecords, log: Logger) {
    this.#writes = writes;
    this.#checks = checks;
    this.#patientCommands = patientCommands;
    this.#patients = patients;
    this.#log = log;
  }

  /**
   * The rule: same facility, same patient (the order's patient resolves to the exam's patient
   * through any identifier; a new patient cannot have such an exam), the exam still awaits its order and is
   * images-received or assigned, and either (1) one of the order's accession numbers equals the study's or
   * the exam's accession number, or (2) neither side's accession contradicts the other, both name the same
   * modality and the dates agree (the order's scheduled date within a day of the study date; without a
   * scheduled date, images received in the last 7 days). Accession matches win; then the newest exam.
   * Returns undefined when no exam qualifies: the order is then created as usual.
   */
  async merge(input: OrderInput, by: ChangeSource, referenced: Patient | undefined): Promise<Exam | undefined> {
    if (typeof input.facility !== 'string' || !input.patient) return undefined;
    const patientId = isPatientInput(input.patient) ? await this.#patientCommands.knownPatientId(input.patient) : referenced?._id;
    if (patientId === undefined) return undefined;
    const waiting = await this.#writes.collection.find({ lateOrderKey: lateOrderKeyOf(input.facility, patientId) }).toArray();
    const candidates = waiting.filter((exam) => exam.awaitingOrder === true && (exam.status === 'images-received' || exam.status === 'assigned'));
    if (candidates.length === 0) return undefined;
    const identifiers = checkIdentifiers(input.identifiers ?? []);
    const target = pickLateOrderTarget(candidates, identifiers, input);
    if (!target) return undefined;
    // The identifiers, already checked above, pass again here; the duplicate check is the merge's own below.
    const { procedure, priority, scheduledAt } = await this.#checks.prepare(input, false);
    if (isPatientInput(input.patient)) await this.#patients.record(input.patient, by);
    let taken = false;
    const merged = await this.#writes.mutate(target._id, {}, async (exam) => {
      // Another order was merged into it meanwhile: an exam takes one order, so this one makes its own exam.
      taken = !exam.awaitingOrder;
      if (taken) return undefined;
      const withNew = await this.#checks.withNewIdentifiers(exam, identifiers);
      const set: Partial<Exam> = { procedure, priority, priorityRank: priorityRank(priority) };
      if (withNew) Object.assign(set, withNew);
      if (input.modality) set.modality = input.modality;
      if (scheduledAt) set.scheduledAt = scheduledAt;
      if (input.reason) set.reason = input.reason;
      if (input.technicianId) set.technicianId = input.technicianId;
      if (input.radiologistId) set.radiologistId = input.radiologistId;
      const changes = diff(flat(exam), flat({ ...exam, ...set }));
      const data: Record<string, FieldValue> = { mergedOrder: true, ...(changes ? summarize(changes) : {}) };
      return examChange(exam, by, { set, unset: ['awaitingOrder', 'lateOrderKey'], event: 'exam.updated', reason: 'late order merged into the exam created from its images', ...(changes ? { changes } : {}) }, ['exam.updated'], data);
    });
    if (taken) return undefined;
    this.#log.info('late order merged into exam created from images', { examNumber: merged.examNumber, facility: merged.facility, via: by.via });
    return merged;
  }
}

/** See LateOrders.merge for the rule. */
function pickLateOrderTarget(candidates: readonly Exam[], identifiers: readonly ExamIdentifier[], order: OrderInput): Exam | undefined {
  const orderAccessions = identifiers.filter((id) => id.kind === 'accession').map((id) => id.value);
  const accessionsOf = (exam: Exam): string[] => [
    ...exam.studies.map((s) => s.accessionNumber).filter((a): a is string => a !== undefined && a !== ''),
    ...exam.identifiers.filter((id) => id.kind === 'accession').map((id) => id.value),
  ];
  const newestFirst = [...candidates].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  const byAccession = newestFirst.find((exam) => accessionsOf(exam).some((a) => orderAccessions.includes(a)));
  if (byAccession) return byAccession;
  return newestFirst.find((exam) => {
    const examAccessions = accessionsOf(exam);
    if (orderAccessions.length > 0 && examAccessions.length > 0) return false;
    if (!order.modality || !exam.modality || order.modality !== exam.modality) return false;
    return datesAgree(exam, order.scheduledAt);
  });
}

function datesAgree(exam: Exam, scheduledAt: string | undefined): boolean {
  const day = 24 * 60 * 60 * 1000;
  if (scheduledAt === undefined) return Date.now() - Date.parse(exam.createdAt) <= lateOrderWindowMs;
  const scheduled = Date.parse(scheduledAt);
  const studyDates = exam.studies.map((s) => s.studyDate).filter((d): d is string => d !== undefined);
  if (Number.isNaN(scheduled)) return false;
  if (studyDates.length === 0) return Math.abs(scheduled - Date.parse(exam.createdAt)) <= day;
  // Study dates are local dates of the modality; a day either side covers any time zone.
  return studyDates.some((date) => Math.abs(scheduled - Date.parse(`${date}T12:00:00Z`)) <= 1.5 * day);
}
