// The order commands of the exam service: check, create (HL7 ORM NW / OMI, FHIR ServiceRequest create, or
// images that matched no order), update (ORM XO, FHIR update), and the lifecycle changes an order takes
// (cancel, status, assignment). A new order first tries the late-order merge (late-order.ts).
import { isDuplicateKeyError } from '../store/db.ts';
import type { Logger } from '../runtime/log.ts';
import { checkSource, diff, type ChangeSource } from './change.ts';
import { TransitionRefusedError } from './errors.ts';
import {
  checkDateTime,
  checkIdentifiers,
  checkPriority,
  checkProcedure,
  identifierKeyOf,
  isPatientInput,
  lateOrderKeyOf,
  priorityRank,
  type Exam,
  type OrderChanges,
  type OrderInput,
  type PatientRef,
} from './exam.ts';
import type { ExamNumbers } from './exam-number.ts';
import { examChange, statusChange, type CommandOptions, type ExamWrites } from './exam-writes.ts';
import type { FacilityRegistry } from './facility.ts';
import type { LateOrders } from './late-order.ts';
import { refusal, type ExamStatus } from './lifecycle.ts';
import { flat, summarize, type OrderChecks } from './order-checks.ts';
import { pendingEvent, type ExamEventType } from './outbox.ts';
import type { PatientCommands } from './patient-commands.ts';
import { checkPatientInput, type Patient, type PatientRecords } from './patient.ts';
import { activeFacility, checkStaff } from './staff-checks.ts';

export interface OrderParts {
  writes: ExamWrites;
  checks: OrderChecks;
  lateOrders: LateOrders;
  patientCommands: PatientCommands;
  patients: PatientRecords;
  facilities: FacilityRegistry;
  numbers: ExamNumbers;
  log: Logger;
}

export class OrderCommands {
  readonly #parts: OrderParts;

  constructor(parts: OrderParts) {
    this.#parts = parts;
  }

  async checkOrder(input: Omit<OrderInput, 'patient'> & { patient?: PatientRef }): Promise<void> {
    const { checks, patientCommands } = this.#parts;
    // An order createOrder would merge into an exam from images may carry that exam's accession (late-order.ts).
    const referenced = await patientCommands.referencedPatient(input.patient, undefined);
    const merging = input.patient !== undefined && input.origin !== 'images';
    const target = merging
      ? await this.#parts.lateOrders.target({ ...input, patient: input.patient! }, referenced)
      : undefined;
    await checks.prepare(input, target === undefined);
    if (target) await checks.withNewIdentifiers(target, checkIdentifiers(input.identifiers ?? []));
    if (input.patient && !isPatientInput(input.patient)) await patientCommands.existingPatient(input.patient.id);
    if (input.patient && isPatientInput(input.patient)) checkPatientInput(input.patient, 'patient');
  }

  async createOrder(input: OrderInput, by: ChangeSource, known: { patient?: Patient } = {}): Promise<Exam> {
    const { writes, checks, patientCommands } = this.#parts;
    const source = checkSource(by);
    const referenced = await patientCommands.referencedPatient(input.patient, known.patient);
    if (input.origin !== 'images') {
      const merged = await this.#parts.lateOrders.merge(input, source, referenced);
      if (merged) return merged;
    }
    // With a referenced patient the insert is the only write, and the unique index refuses a duplicate number
    // in it (refuseDuplicates then names the holder); patient data is recorded first, so it is checked before.
    const { facility, procedure, priority, identifiers, keys, scheduledAt, authoredOn } = await checks.prepare(
      input,
      referenced === undefined,
    );
    const patient = referenced ?? (await patientCommands.patientFor(input, source));
    const examNumber = await this.#parts.numbers.next();
    const now = new Date().toISOString();
    const exam: Exam = {
      _id: examNumber,
      examNumber,
      identifiers,
      facility: facility.code,
      patientId: patient._id,
      procedure,
      priority,
      priorityRank: priorityRank(priority),
      status: 'requested',
      studies: [],
      reports: [],
      version: 1,
      createdAt: now,
      updatedAt: now,
      history: [{ at: now, version: 1, event: 'exam.created', by: source }],
      outbox: [
        pendingEvent('exam', examNumber, 1, 0, {
          type: 'exam.created',
          at: now,
          by: source,
          examNumber,
          patientId: patient._id,
          facility: facility.code,
          data: { status: 'requested', procedure: procedure.code, priority },
        }),
      ],
    };
    if (keys.length > 0) exam.identifierKeys = keys;
    if (input.modality) exam.modality = input.modality;
    if (scheduledAt) exam.scheduledAt = scheduledAt;
    if (authoredOn) exam.authoredOn = authoredOn;
    if (input.reason) exam.reason = input.reason;
    if (input.technicianId) exam.technicianId = input.technicianId;
    if (input.radiologistId) exam.radiologistId = input.radiologistId;
    if (input.origin === 'images') {
      exam.awaitingOrder = true;
      exam.lateOrderKey = lateOrderKeyOf(facility.code, patient._id);
    }
    if (input.exception) {
      exam.exception = { reason: input.exception, at: now };
      exam.history[0]!.reason = input.exception;
      exam.outbox[0]!.data['exception'] = true;
    }
    try {
      await writes.collection.insertOne(exam);
    } catch (error) {
      // Another process stored the same placer/filler/accession number since the check above.
      if (isDuplicateKeyError(error)) await checks.refuseDuplicates(keys, identifiers, facility.code);
      throw error;
    }
    writes.outbox.kick();
    this.#parts.log.debug('exam created', { examNumber, facility: facility.code, via: source.via });
    return exam;
  }

  async updateOrder(
    examNumber: string,
    changes: OrderChanges,
    by: ChangeSource,
    options: CommandOptions = {},
  ): Promise<Exam> {
    try {
      return await this.#updateOrder(examNumber, changes, by, options);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const exam = await this.#parts.writes.require(examNumber);
      const ids = checkIdentifiers(changes.identifiers ?? []);
      await this.#parts.checks.refuseDuplicates(
        ids.map((id) => identifierKeyOf(exam.facility, id)),
        ids,
        exam.facility,
      );
      throw error;
    }
  }

  async #updateOrder(
    examNumber: string,
    changes: OrderChanges,
    by: ChangeSource,
    options: CommandOptions,
  ): Promise<Exam> {
    const source = checkSource(by);
    const procedure = changes.procedure === undefined ? undefined : checkProcedure(changes.procedure);
    const priority = changes.priority === undefined ? undefined : checkPriority(changes.priority);
    const scheduledAt = changes.scheduledAt ? checkDateTime(changes.scheduledAt, 'scheduledAt') : changes.scheduledAt;
    const added = checkIdentifiers(changes.identifiers ?? []);
    const patient = changes.patientId === undefined ? undefined : await this.#parts.patients.resolve(changes.patientId);
    return this.#parts.writes.mutate(examNumber, options, async (exam) => {
      const facility = await activeFacility(this.#parts.facilities, exam.facility);
      checkStaff(facility, changes.technicianId ?? undefined, changes.radiologistId ?? undefined);
      const withNew = await this.#parts.checks.withNewIdentifiers(exam, added);
      const set: Partial<Exam> = {};
      const unset: Array<keyof Exam & string> = [];
      if (procedure) set.procedure = procedure;
      if (priority) Object.assign(set, { priority, priorityRank: priorityRank(priority) });
      optional(set, unset, 'modality', changes.modality);
      optional(set, unset, 'scheduledAt', scheduledAt);
      optional(set, unset, 'reason', changes.reason);
      optional(set, unset, 'technicianId', changes.technicianId);
      optional(set, unset, 'radiologistId', changes.radiologistId);
      if (withNew) Object.assign(set, withNew);
      const patientChanged = patient !== undefined && patient._id !== exam.patientId;
      if (patientChanged) set.patientId = patient._id;
      const changed = diff(
        flat(exam),
        flat({ ...exam, ...set, ...Object.fromEntries(unset.map((k) => [k, undefined])) }),
      );
      const closed = exam.status === 'cancelled' || exam.status === 'completed';
      // An order command for an exam its images made (HL7 NW or XO found it by accession, a FHIR update) is its
      // order arriving: the wait ends in this write, so no other order can be merged into it (late-order.ts).
      const endsWait = exam.awaitingOrder === true && !closed;
      if (!changed && !withNew && !endsWait) return undefined;
      if (closed) {
        throw new TransitionRefusedError(
          exam.examNumber,
          exam.status,
          exam.status,
          'a closed exam cannot be changed; reactivate it first',
        );
      }
      if (endsWait) unset.push('awaitingOrder', 'lateOrderKey');
      const types: ExamEventType[] = ['exam.updated'];
      if (patientChanged) types.push('exam.patient-changed');
      const data = { ...(endsWait ? { mergedOrder: true } : {}), ...(changed ? summarize(changed) : {}) };
      const reason = endsWait ? { reason: 'late order merged into the exam created from its images' } : {};
      const change = {
        set,
        unset,
        event: 'exam.updated' as const,
        ...reason,
        ...(changed ? { changes: changed } : {}),
      };
      return examChange(exam, source, change, types, data);
    });
  }

  cancel(examNumber: string, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    return this.changeStatus(examNumber, 'cancelled', by, options);
  }

  async changeStatus(
    examNumber: string,
    to: ExamStatus,
    by: ChangeSource,
    options: CommandOptions = {},
  ): Promise<Exam> {
    const source = checkSource(by);
    return this.#parts.writes.mutate(examNumber, options, async (exam) => {
      const refused = refusal(exam.status, to);
      if (refused) throw new TransitionRefusedError(exam.examNumber, exam.status, to, refused);
      return statusChange(exam, to, source, {}, options.reason);
    });
  }

  async assign(
    examNumber: string,
    radiologistId: string,
    by: ChangeSource,
    options: CommandOptions = {},
  ): Promise<Exam> {
    const source = checkSource(by);
    return this.#parts.writes.mutate(examNumber, options, async (exam) => {
      checkStaff(await activeFacility(this.#parts.facilities, exam.facility), undefined, radiologistId);
      const refused = refusal(exam.status, 'assigned');
      if (refused) throw new TransitionRefusedError(exam.examNumber, exam.status, 'assigned', refused);
      return statusChange(exam, 'assigned', source, { radiologistId }, options.reason);
    });
  }
}

function optional<K extends 'modality' | 'scheduledAt' | 'reason' | 'technicianId' | 'radiologistId'>(
  set: Partial<Exam>,
  unset: Array<keyof Exam & string>,
  key: K,
  value: string | null | undefined,
): void {
  if (value === undefined) return;
  if (value === null) unset.push(key);
  else set[key] = value;
}
