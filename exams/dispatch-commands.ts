// Technician dispatch on the exam side: who is responsible for an exam (technicianId), whether they acknowledged
// it, and escalation to the facility's next technician. Each is one exam write with its event in the same write
// (exam-writes.ts), and the notices are routes on those events (the technician-dispatch channel), so a notice is
// queued, retried and resent like any delivery.
import { checkSource, type ChangeSource } from './change.ts';
import { InvalidInputError } from './errors.ts';
import type { Exam } from './exam.ts';
import { examChange, type ExamWrites } from './exam-writes.ts';
import type { FacilityRegistry } from './facility.ts';
import { closedStatuses, reportedStatuses } from './lifecycle.ts';

/** Exams in these states need no technician any more: nothing to acknowledge or escalate. */
const closed = new Set<string>([...closedStatuses, ...reportedStatuses]);

export class DispatchCommands {
  readonly #writes: ExamWrites;
  readonly #facilities: FacilityRegistry;

  constructor(writes: ExamWrites, facilities: FacilityRegistry) {
    this.#writes = writes;
    this.#facilities = facilities;
  }

  /** Makes `technicianId` responsible for the exam; a new assignee must acknowledge again. */
  async assignTechnician(examNumber: string, technicianId: string, by: ChangeSource): Promise<Exam> {
    const source = checkSource(by);
    return this.#writes.mutate(examNumber, {}, async (exam) => {
      await this.#requireTechnician(exam, technicianId, 'technicianId');
      if (closed.has(exam.status))
        throw new InvalidInputError('examNumber', `exam ${exam.examNumber} is ${exam.status}: nothing to dispatch`);
      return examChange(
        exam,
        source,
        {
          set: { technicianId },
          unset: ['acknowledgedAt'],
          event: 'exam.technician-assigned',
          changes: { technicianId: { from: exam.technicianId ?? null, to: technicianId } },
        },
        ['exam.technician-assigned'],
        { technicianId },
      );
    });
  }

  /** The responsible technician (or, with no one assigned, any of the facility's) took the exam. */
  async acknowledge(examNumber: string, technicianId: string | undefined, by: ChangeSource): Promise<Exam> {
    const source = checkSource(by);
    return this.#writes.mutate(examNumber, {}, async (exam) => {
      if (exam.acknowledgedAt !== undefined) return undefined;
      const who = technicianId ?? exam.technicianId;
      if (who === undefined)
        throw new InvalidInputError('technicianId', 'no technician is assigned: say who acknowledges');
      await this.#requireTechnician(exam, who, 'technicianId');
      if (exam.technicianId !== undefined && exam.technicianId !== who)
        throw new InvalidInputError('technicianId', `the exam is assigned to ${exam.technicianId}, not ${who}`);
      const at = new Date().toISOString();
      return examChange(
        exam,
        source,
        {
          set: { technicianId: who, acknowledgedAt: at },
          event: 'exam.acknowledged',
          changes: { acknowledgedAt: { from: null, to: at } },
        },
        ['exam.acknowledged'],
        { technicianId: who },
      );
    });
  }

  /**
   * Hands an unacknowledged exam to the technician after the responsible one in the facility's list (the first
   * one when nobody is responsible yet). Does nothing when the exam was acknowledged or closed meanwhile, or
   * when `round` escalations already happened (the same check run twice must not escalate twice).
   */
  async escalate(examNumber: string, round: number, by: ChangeSource): Promise<Exam | undefined> {
    const source = checkSource(by);
    let escalated = false;
    const exam = await this.#writes.mutate(examNumber, {}, async (current) => {
      if (current.acknowledgedAt !== undefined || closed.has(current.status)) return undefined;
      if ((current.escalations ?? 0) >= round) return undefined;
      const facility = await this.#facilities.require(current.facility);
      const technicians = facility.technicians;
      if (technicians.length === 0) return undefined;
      const index = technicians.findIndex((t) => t.id === current.technicianId);
      const previous = index < 0 ? undefined : technicians[index];
      const next = technicians[(index + 1) % technicians.length]!;
      escalated = true;
      return examChange(
        current,
        source,
        {
          set: { technicianId: next.id, escalations: round },
          event: 'exam.escalated',
          changes: { technicianId: { from: current.technicianId ?? null, to: next.id } },
          reason: 'not acknowledged in time',
        },
        ['exam.escalated'],
        { technicianId: next.id, previousTechnicianId: previous?.id ?? null, round },
      );
    });
    return escalated ? exam : undefined;
  }

  async #requireTechnician(exam: Exam, technicianId: string, at: string): Promise<void> {
    const facility = await this.#facilities.require(exam.facility);
    if (!facility.technicians.some((t) => t.id === technicianId))
      throw new InvalidInputError(at, `no technician '${technicianId}' works at ${facility.code}`);
  }
}
