// What a new or merged order must pass before it is written: its facility, codes and staff, and identifiers
// (placer, filler, accession) that no other exam holds. Shared by new orders (order-commands.ts) and late
// orders merged into an exam made from images (late-order.ts); also the field view their history entries use.
import type { FieldValue } from './change.ts';
import {
  checkDateTime,
  checkIdentifiers,
  checkPriority,
  checkProcedure,
  identifierKeyOf,
  type Exam,
  type ExamIdentifier,
  type OrderInput,
} from './exam.ts';
import { DuplicateError } from './errors.ts';
import type { FacilityRegistry } from './facility.ts';
import type { ExamWrites } from './exam-writes.ts';
import { activeFacility, checkStaff } from './staff-checks.ts';

export class OrderChecks {
  readonly #writes: ExamWrites;
  readonly #facilities: FacilityRegistry;

  constructor(writes: ExamWrites, facilities: FacilityRegistry) {
    this.#writes = writes;
    this.#facilities = facilities;
  }

  async prepare(input: Omit<OrderInput, 'patient'>, checkDuplicates = true) {
    const facility = await activeFacility(this.#facilities, input.facility);
    const procedure = checkProcedure(input.procedure);
    const priority = checkPriority(input.priority);
    const identifiers = checkIdentifiers(input.identifiers ?? []);
    const scheduledAt = input.scheduledAt === undefined ? undefined : checkDateTime(input.scheduledAt, 'scheduledAt');
    const authoredOn = input.authoredOn === undefined ? undefined : checkDateTime(input.authoredOn, 'authoredOn');
    checkStaff(facility, input.technicianId, input.radiologistId);
    const keys = identifiers.map((id) => identifierKeyOf(facility.code, id));
    if (checkDuplicates) await this.refuseDuplicates(keys, identifiers, facility.code);
    return { facility, procedure, priority, identifiers, keys, scheduledAt, authoredOn };
  }

  /**
   * The exam's identifiers with those of `ids` it does not hold yet, or undefined when it holds them all;
   * refused (DuplicateError) when another exam holds a new one.
   */
  async withNewIdentifiers(
    exam: Exam,
    ids: readonly ExamIdentifier[],
  ): Promise<Pick<Exam, 'identifiers' | 'identifierKeys'> | undefined> {
    const known = exam.identifierKeys ?? [];
    // A Set, not includes(): an order may carry many identifiers (issue 10, linear in the message).
    const held = new Set(known);
    const newIds = ids.filter((id) => !held.has(identifierKeyOf(exam.facility, id)));
    const newKeys = newIds.map((id) => identifierKeyOf(exam.facility, id));
    await this.refuseDuplicates(newKeys, newIds, exam.facility);
    return newIds.length === 0
      ? undefined
      : { identifiers: [...exam.identifiers, ...newIds], identifierKeys: [...known, ...newKeys] };
  }

  async refuseDuplicates(keys: string[], ids: ExamIdentifier[], facility: string): Promise<void> {
    if (keys.length === 0) return;
    const existing = await this.#writes.collection.findOne(
      { identifierKeys: { $in: keys } },
      { projection: { _id: 1, identifierKeys: 1 } },
    );
    if (!existing) return;
    const held = new Set(existing.identifierKeys ?? []);
    const index = keys.findIndex((key) => held.has(key));
    const id = ids[Math.max(0, index)]!;
    throw new DuplicateError(`${id.kind} number at ${facility}`, id.value, `exam ${existing._id}`);
  }
}

/** The order fields of an exam as one flat record, for the history's field-by-field diff. */
export function flat(exam: Partial<Exam>): Record<string, FieldValue | undefined> {
  return {
    procedure: exam.procedure?.code,
    procedureText: exam.procedure?.text,
    modality: exam.modality,
    priority: exam.priority,
    scheduledAt: exam.scheduledAt,
    reason: exam.reason,
    technicianId: exam.technicianId,
    radiologistId: exam.radiologistId,
    patientId: exam.patientId,
    identifiers: exam.identifierKeys?.join(' '),
  };
}

/** The event carries which fields changed and their codes, never free text that could hold patient data. */
export function summarize(changes: Record<string, { from: FieldValue; to: FieldValue }>): Record<string, FieldValue> {
  const data: Record<string, FieldValue> = { fields: Object.keys(changes).join(',') };
  for (const key of [
    'priority',
    'procedure',
    'modality',
    'patientId',
    'technicianId',
    'radiologistId',
    'scheduledAt',
  ] as const) {
    if (changes[key]) data[key] = changes[key].to;
  }
  return data;
}
