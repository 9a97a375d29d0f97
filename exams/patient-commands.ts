// The patient commands of the exam service: record (by identifier), create, update, merge (HL7 ADT^A40, which
// moves the merged patient's exams to the survivor), and the look-ups orders use to find the patient they name
// without creating anyone. The patient document itself is patient.ts's; moving an exam is an exam write.
import { checkSource, type ChangeSource } from './change.ts';
import { DuplicateError, InvalidInputError } from './errors.ts';
import { isPatientInput, lateOrderKeyOf, type Exam, type OrderInput, type PatientRef } from './exam.ts';
import { examChange, type CommandOptions, type ExamWrites } from './exam-writes.ts';
import { checkPatientInput, type Patient, type PatientInput, type PatientRecords } from './patient.ts';

export class PatientCommands {
  readonly #writes: ExamWrites;
  readonly #patients: PatientRecords;

  constructor(writes: ExamWrites, patients: PatientRecords) {
    this.#writes = writes;
    this.#patients = patients;
  }

  recordPatient(input: PatientInput, by: ChangeSource): Promise<{ patient: Patient; created: boolean }> {
    return this.#patients.record(input, checkSource(by)).finally(() => this.#writes.outbox.kick());
  }

  async createPatient(input: PatientInput, by: ChangeSource): Promise<Patient> {
    await this.checkNewPatient(input);
    const patient = await this.#patients.create(input, checkSource(by));
    this.#writes.outbox.kick();
    return patient;
  }

  async checkNewPatient(input: PatientInput): Promise<void> {
    checkPatientInput(input);
    for (const [i, id] of input.identifiers.entries()) {
      const holder = await this.#patients.findByIdentifier(id.system, id.value);
      if (holder)
        throw new DuplicateError(`patient.identifiers[${i}]`, `${id.system}|${id.value}`, `patient ${holder._id}`);
    }
  }

  updatePatient(id: string, input: PatientInput, by: ChangeSource, options: CommandOptions = {}): Promise<Patient> {
    return this.#patients
      .update(id, input, checkSource(by), options.expectedVersion)
      .finally(() => this.#writes.outbox.kick());
  }

  /**
   * Merges patient A (`fromId`) into B (`intoId`), HL7 ADT^A40: A is kept, marked as merged with a link to B,
   * and every exam of A moves to B. Running it again after a crash finishes moving the exams.
   */
  async mergePatients(
    fromId: string,
    intoId: string,
    by: ChangeSource,
  ): Promise<{ from: Patient; into: Patient; movedExams: string[] }> {
    const source = checkSource(by);
    const from = await this.#patients.require(fromId);
    let merged: { from: Patient; into: Patient };
    if (from.mergedInto === intoId) merged = { from, into: await this.#patients.require(intoId) };
    else merged = await this.#patients.markMerged(fromId, intoId, source);
    const movedExams: string[] = [];
    // Closed exams move too, without reopening them: they still belong to the surviving patient.
    for (const exam of await this.#writes.collection
      .find({ patientId: fromId }, { projection: { _id: 1 } })
      .toArray()) {
      await this.#movePatient(exam._id, intoId, source);
      movedExams.push(exam._id);
    }
    this.#writes.outbox.kick();
    return { ...merged, movedExams };
  }

  /** The surviving patient an order's `{ id }` names; undefined for a missing one or for patient data to record. */
  async referencedPatient(ref: PatientRef | undefined, known: Patient | undefined): Promise<Patient | undefined> {
    if (!ref || isPatientInput(ref) || typeof ref.id !== 'string') return undefined;
    const patient = known?._id === ref.id ? known : await this.#patients.get(ref.id);
    if (!patient) return undefined;
    return patient.mergedInto === undefined ? patient : this.#patients.resolve(patient._id);
  }

  /** The id of an existing patient the order's patient data names, without creating or changing anyone. */
  async knownPatientId(ref: PatientInput): Promise<string | undefined> {
    for (const id of Array.isArray(ref.identifiers) ? ref.identifiers : []) {
      if (typeof id?.system !== 'string' || typeof id.value !== 'string') continue;
      const patient = await this.#patients.findByIdentifier(id.system, id.value);
      if (patient) return (await this.#patients.resolve(patient._id))._id;
    }
    return undefined;
  }

  async existingPatient(id: string): Promise<Patient> {
    if (typeof id !== 'string') throw new InvalidInputError('patient.id', 'expected a patient id');
    const patient = await this.referencedPatient({ id }, undefined);
    if (!patient) throw new InvalidInputError('patient.id', `patient ${id} does not exist`);
    return patient;
  }

  async patientFor(input: OrderInput, by: ChangeSource): Promise<Patient> {
    if (!input.patient) throw new InvalidInputError('patient', 'the patient is required');
    if (isPatientInput(input.patient)) return (await this.#patients.record(input.patient, by)).patient;
    return this.existingPatient(input.patient.id);
  }

  async #movePatient(examNumber: string, patientId: string, by: ChangeSource): Promise<Exam> {
    return this.#writes.mutate(examNumber, {}, async (exam) => {
      if (exam.patientId === patientId) return undefined;
      const changes = { patientId: { from: exam.patientId, to: patientId } };
      const set: Partial<Exam> = exam.awaitingOrder
        ? { patientId, lateOrderKey: lateOrderKeyOf(exam.facility, patientId) }
        : { patientId };
      return examChange(exam, by, { set, event: 'exam.patient-changed', changes }, ['exam.patient-changed'], {
        from: exam.patientId,
        to: patientId,
      });
    });
  }
}
