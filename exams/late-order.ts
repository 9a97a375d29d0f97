// Late order merge. Images that matched no order made an exam of their own (origin `images`,
// `awaitingOrder`, dicom/study-matching.ts). When the order for them arrives later (HL7 or FHIR), it must
// become that exam, not a second one. This file is the whole rule: which exam qualifies, and the one write that
// merges the order into it.
import { diff, type ChangeSource, type FieldValue } from './change.ts';
import {
  checkIdentifiers,
  identifierKeyOf,
  isPatientInput,
  lateOrderKeyOf,
  priorityRank,
  type Exam,
  type ExamIdentifier,
  type OrderInput,
} from './exam.ts';
import { examChange, type ExamWrites } from './exam-writes.ts';
import { flat, summarize, type OrderChecks } from './order-checks.ts';
import type { PatientCommands } from './patient-commands.ts';
import type { ExamEventType } from './outbox.ts';
import type { Patient, PatientInput, PatientRecords } from './patient.ts';
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

  constructor(
    writes: ExamWrites,
    checks: OrderChecks,
    patientCommands: PatientCommands,
    patients: PatientRecords,
    log: Logger,
  ) {
    this.#writes = writes;
    this.#checks = checks;
    this.#patientCommands = patientCommands;
    this.#patients = patients;
    this.#log = log;
  }

  /**
   * The rule: same facility; the exam still awaits its order and is images-received or assigned; and either
   * (1) one of the order's accession numbers equals the study's or the exam's accession number (an accession is
   * unique in its facility, so this holds even when the order names the patient under another identifier
   * system, as long as names and birth dates do not contradict), or (2) the same patient, neither side's
   * accession contradicts the other, both name the same modality and the dates agree (the order's scheduled
   * date within a day of the study date; without a scheduled date, images received in the last 7 days).
   * Accession matches win; then the newest exam. The same patient: the order's patient resolves to the exam's
   * through any identifier, or holds an identifier its facility issued (HL7 CX-4 of the facility, FHIR
   * `assigner`) with the value the images' PatientID had; HL7 and FHIR orders thus meet the images alike.
   * Undefined when no exam qualifies: the order is then created as usual. Reads only.
   */
  async target(input: OrderInput, referenced: Patient | undefined): Promise<Exam | undefined> {
    if (typeof input.facility !== 'string' || !input.patient) return undefined;
    const identifiers = checkIdentifiers(input.identifiers ?? []);
    const patientIds = await this.#samePatients(input.facility, input.patient, referenced);
    const keys = patientIds.map((id) => lateOrderKeyOf(input.facility, id));
    // One key (the usual case) is one equality on one indexed field, the cheapest read of the store (exam.ts).
    const filter = keys.length === 1 ? { lateOrderKey: keys[0]! } : { lateOrderKey: { $in: keys } };
    const waiting = keys.length === 0 ? [] : await this.#writes.collection.find(filter).toArray();
    const byAccession = await this.#byAccession(input, identifiers, referenced, patientIds);
    if (byAccession && !waiting.some((exam) => exam._id === byAccession._id)) waiting.push(byAccession);
    const candidates = waiting.filter(
      (exam) => exam.awaitingOrder === true && (exam.status === 'images-received' || exam.status === 'assigned'),
    );
    return candidates.length === 0 ? undefined : pickLateOrderTarget(candidates, identifiers, input);
  }

  /** Merges the order into the exam `target` picks, in one write; undefined when there is none. */
  async merge(input: OrderInput, by: ChangeSource, referenced: Patient | undefined): Promise<Exam | undefined> {
    const target = await this.target(input, referenced);
    if (!target) return undefined;
    const identifiers = checkIdentifiers(input.identifiers ?? []);
    // The identifiers, already checked above, pass again here; the duplicate check is the merge's own below.
    const { procedure, priority, scheduledAt, authoredOn } = await this.#checks.prepare(input, false);
    const recorded = isPatientInput(input.patient)
      ? (await this.#patients.record(input.patient, by)).patient
      : referenced;
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
      if (authoredOn) set.authoredOn = authoredOn;
      if (input.reason) set.reason = input.reason;
      if (input.technicianId) set.technicianId = input.technicianId;
      if (input.radiologistId) set.radiologistId = input.radiologistId;
      // The order names the patient as its sender knows them: the exam moves to that record.
      const moved = recorded !== undefined && recorded._id !== exam.patientId;
      if (moved) set.patientId = recorded._id;
      const changes = diff(flat(exam), flat({ ...exam, ...set }));
      const data: Record<string, FieldValue> = { mergedOrder: true, ...(changes ? summarize(changes) : {}) };
      const types: ExamEventType[] = moved ? ['exam.updated', 'exam.patient-changed'] : ['exam.updated'];
      const reason = 'late order merged into the exam created from its images';
      const unset: Array<keyof Exam & string> = ['awaitingOrder', 'lateOrderKey'];
      return examChange(
        exam,
        by,
        { set, unset, event: 'exam.updated', reason, ...(changes ? { changes } : {}) },
        types,
        data,
      );
    });
    if (taken) return undefined;
    this.#log.info('late order merged into exam created from images', {
      examNumber: merged.examNumber,
      facility: merged.facility,
      via: by.via,
    });
    return merged;
  }

  /** The patients that are the order's patient at this facility (see target): the record and the images' ones. */
  async #samePatients(
    facility: string,
    ref: OrderInput['patient'],
    referenced: Patient | undefined,
  ): Promise<string[]> {
    const ids = new Set<string>();
    const known = isPatientInput(ref) ? await this.#patientCommands.knownPatientId(ref) : referenced?._id;
    if (known !== undefined) ids.add(known);
    const given = isPatientInput(ref) ? ref.identifiers : referenced?.identifiers;
    const identifiers = Array.isArray(given) ? given : [];
    for (const id of identifiers) {
      // dicom/study-matching.ts records a PatientID under the facility's code: the same number, the same patient.
      if (typeof id?.value !== 'string' || id.system === facility || id.facility !== facility) continue;
      const holder = await this.#patients.findByIdentifier(facility, id.value);
      if (holder) ids.add((await this.#patients.resolve(holder._id))._id);
    }
    return [...ids];
  }

  /** (1) of the rule for an exam of another patient record: its accession is the order's, the people agree. */
  async #byAccession(
    input: OrderInput,
    identifiers: readonly ExamIdentifier[],
    referenced: Patient | undefined,
    same: readonly string[],
  ): Promise<Exam | undefined> {
    const accessions = identifiers.filter((id) => id.kind === 'accession');
    if (accessions.length === 0) return undefined;
    const keys = accessions.map((id) => identifierKeyOf(input.facility, id));
    const exam = await this.#writes.collection.findOne({ identifierKeys: { $in: keys }, awaitingOrder: true });
    if (!exam || same.includes(exam.patientId)) return exam ?? undefined;
    const ordered = isPatientInput(input.patient) ? input.patient : referenced;
    const imaged = await this.#patients.get(exam.patientId);
    return ordered && imaged && !contradicts(ordered, imaged) ? exam : undefined;
  }
}

/** Two descriptions of a person contradict when both give a family name or a birth date and they differ. */
function contradicts(a: Pick<PatientInput, 'name' | 'birthDate'>, b: Pick<PatientInput, 'name' | 'birthDate'>) {
  const family = (p: Pick<PatientInput, 'name'>): string | undefined =>
    p.name?.family
      ?.normalize('NFKD')
      .replace(/[^\p{L}]/gu, '')
      .toLowerCase() || undefined;
  const [fa, fb] = [family(a), family(b)];
  if (fa !== undefined && fb !== undefined && fa !== fb) return true;
  return a.birthDate !== undefined && b.birthDate !== undefined && a.birthDate !== b.birthDate;
}

/** See LateOrders.target for the rule. */
function pickLateOrderTarget(
  candidates: readonly Exam[],
  identifiers: readonly ExamIdentifier[],
  order: OrderInput,
): Exam | undefined {
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
