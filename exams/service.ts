// The exam service: the commands every protocol layer uses (HL7 orders and ADT, FHIR, DICOM matching, the
// admin UI). It knows no protocol: inputs are plain typed objects, failures are the typed errors of errors.ts.
// Every change is one atomic write of the document with its history entry and its events (see outbox.ts),
// through exam-writes.ts. This class only composes the parts, one concept each: order-commands.ts,
// late-order.ts, patient-commands.ts, study-commands.ts and exam-queries.ts; reports are `reports`
// (report-service.ts), a part of their own with their own collection.
import type { HubDb } from '../store/db.ts';
import type { Logger } from '../runtime/log.ts';
import type { ChangeSource } from './change.ts';
import type { Exam, ExamIdentifierKind, OrderChanges, OrderInput, PatientRef } from './exam.ts';
import { DispatchCommands } from './dispatch-commands.ts';
import { ExamNumbers } from './exam-number.ts';
import { ExamQueries, type ExamQuery, type Page, type PatientQuery } from './exam-queries.ts';
import { ExamWrites, type CommandOptions } from './exam-writes.ts';
import { ExceptionCommands } from './exception-commands.ts';
import { FacilityRegistry } from './facility.ts';
import { LateOrders } from './late-order.ts';
import type { ExamStatus } from './lifecycle.ts';
import { ExamLists } from './lists.ts';
import { OrderChecks } from './order-checks.ts';
import { OrderCommands } from './order-commands.ts';
import { Outbox } from './outbox.ts';
import { PatientCommands } from './patient-commands.ts';
import { PatientRecords, type Patient, type PatientInput } from './patient.ts';
import { ReportService } from './report-service.ts';
import { StudyCommands, type StudyCompletion, type StudyInput } from './study-commands.ts';

export type { CommandOptions } from './exam-writes.ts';
export type { DateRange, ExamQuery, ExamSortField, Page, PatientQuery } from './exam-queries.ts';
export type { StudyCompletion, StudyInput } from './study-commands.ts';

export interface ExamServiceOptions {
  log: Logger;
  /** Poll interval of the outbox publisher (ms). */
  outboxPollMs?: number;
  /** Separate exam number sequences in one store (tests only). */
  numberPrefix?: string;
  /** Exam numbers reserved per counter write (exam-number.ts); 1 = no gaps, slower. */
  numberBlockSize?: number;
  /** Publisher lease identity and the exited-holder check (outbox.ts OutboxOptions). */
  outboxOwner?: string;
  isAbandonedOwner?: (owner: string) => boolean;
  /** How long the event publisher's lease stands after its holder vanished (default the outbox's 30 s). */
  outboxLeaseMs?: number;
  /** Where report files are kept (reports/<id>/ under it); without it reports take no files and get no PDF. */
  dataDir?: string;
  /** Largest report attachment accepted (config `reports.maxAttachmentBytes`). */
  maxAttachmentBytes?: number;
}

export class ExamService {
  readonly facilities: FacilityRegistry;
  readonly patients: PatientRecords;
  readonly outbox: Outbox;
  readonly lists: ExamLists;
  readonly reports: ReportService;
  /** Technician dispatch: assignment, acknowledgement, escalation (dispatch-commands.ts). */
  readonly dispatch: DispatchCommands;
  /** The technician's answers to the exception list: dismiss, attach a study (exception-commands.ts). */
  readonly exceptions: ExceptionCommands;
  readonly #writes: ExamWrites;
  readonly #queries: ExamQueries;
  readonly #orders: OrderCommands;
  readonly #patientCommands: PatientCommands;
  readonly #studies: StudyCommands;

  constructor(db: HubDb, options: ExamServiceOptions) {
    const numbers = new ExamNumbers(db, {
      ...(options.numberPrefix === undefined ? {} : { prefix: options.numberPrefix }),
      ...(options.numberBlockSize === undefined ? {} : { blockSize: options.numberBlockSize }),
    });
    this.facilities = new FacilityRegistry(db);
    this.patients = new PatientRecords(db);
    this.outbox = new Outbox(db, {
      log: options.log,
      sources: ['exams', 'patients', 'reports'],
      ...(options.outboxPollMs === undefined ? {} : { pollMs: options.outboxPollMs }),
      ...(options.outboxOwner === undefined ? {} : { owner: options.outboxOwner }),
      ...(options.isAbandonedOwner === undefined ? {} : { isAbandonedOwner: options.isAbandonedOwner }),
      ...(options.outboxLeaseMs === undefined ? {} : { leaseMs: options.outboxLeaseMs }),
    });
    this.lists = new ExamLists(db, this.facilities);
    const writes = new ExamWrites(db, this.outbox);
    this.dispatch = new DispatchCommands(writes, this.facilities);
    this.exceptions = new ExceptionCommands(writes);
    const checks = new OrderChecks(writes, this.facilities);
    const patientCommands = new PatientCommands(writes, this.patients);
    const lateOrders = new LateOrders(writes, checks, patientCommands, this.patients, options.log);
    this.#writes = writes;
    this.#queries = new ExamQueries(writes, this.patients);
    this.#patientCommands = patientCommands;
    const { patients, facilities } = this;
    this.#orders = new OrderCommands({
      writes,
      checks,
      lateOrders,
      patientCommands,
      patients,
      facilities,
      numbers,
      log: options.log,
    });
    this.#studies = new StudyCommands(writes);
    this.reports = new ReportService({
      db,
      writes,
      facilities: this.facilities,
      patients: this.patients,
      log: options.log,
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options.maxAttachmentBytes === undefined ? {} : { maxAttachmentBytes: options.maxAttachmentBytes }),
    });
  }

  /** Creates indexes and starts the outbox publisher. */
  async start(): Promise<void> {
    const exams = this.#writes.collection;
    await exams.createIndex({ identifierKeys: 1 }, { unique: true, sparse: true });
    await exams.createIndex({ patientId: 1 });
    // Exams made from images that still await their order are few: sparse indexes find them at once. Every new
    // order looks up lateOrderKey (Exam.lateOrderKey); the flag's index serves the keying below.
    await exams.createIndex({ awaitingOrder: 1 }, { sparse: true });
    await exams.createIndex({ lateOrderKey: 1 }, { sparse: true });
    // Exams from images stored before lateOrderKey existed: key them once (matches nothing afterwards).
    await exams.updateMany({ awaitingOrder: true, lateOrderKey: { $exists: false } }, [
      { $set: { lateOrderKey: { $concat: ['$facility', '|', '$patientId'] } } },
    ]);
    await exams.createIndex({ facility: 1, status: 1 });
    // The Modality Worklist (dicom/worklist.ts) reads a facility's requested exams of some days in scheduledAt
    // order: equality on the first two fields, bounds and order on the next.
    await exams.createIndex({ facility: 1, status: 1, scheduledAt: 1, _id: 1 });
    // The facility's lists (lists.ts) read their first page in index order instead of sorting every exam of the
    // facility: most urgent then oldest for the active list, latest first for the completed one.
    await exams.createIndex({ facility: 1, priorityRank: 1, createdAt: 1, _id: 1 });
    await exams.createIndex({ facility: 1, updatedAt: 1, _id: 1 });
    await exams.createIndex({ technicianId: 1, status: 1 });
    await exams.createIndex({ 'studies.studyInstanceUid': 1 });
    await exams.createIndex({ updatedAt: 1 });
    await exams.createIndex({ createdAt: 1 });
    await exams.createIndex({ 'identifiers.value': 1 });
    await this.facilities.ensureIndexes();
    await this.patients.ensureIndexes();
    await this.outbox.start();
    await this.reports.start();
  }

  async stop(): Promise<void> {
    await this.outbox.stop();
  }

  // ---- queries (exam-queries.ts) -------------------------------------------------------------------------

  get(examNumber: string): Promise<Exam | undefined> {
    return this.#writes.get(examNumber);
  }

  require(examNumber: string): Promise<Exam> {
    return this.#writes.require(examNumber);
  }

  /** The exam a facility knows by its placer/filler/accession number. */
  findByIdentifier(
    facility: string,
    kind: ExamIdentifierKind,
    value: string,
    system?: string,
  ): Promise<Exam | undefined> {
    return this.#queries.findByIdentifier(facility, kind, value, system);
  }

  findByStudyUid(studyInstanceUid: string): Promise<Exam | undefined> {
    return this.#queries.findByStudyUid(studyInstanceUid);
  }

  findExams(query: ExamQuery): Promise<Page<Exam>> {
    return this.#queries.findExams(query);
  }

  findPatients(query: PatientQuery): Promise<Page<Patient>> {
    return this.#queries.findPatients(query);
  }

  // ---- orders (order-commands.ts, late-order.ts) ---------------------------------------------------------

  /**
   * Checks an order as createOrder would (facility, codes, staff, duplicate identifiers, an existing patient
   * id) without storing anything. A FHIR transaction checks every entry this way before writing any.
   * Without `patient` the patient is not checked (it is created by the same transaction).
   */
  checkOrder(input: Omit<OrderInput, 'patient'> & { patient?: PatientRef }): Promise<void> {
    return this.#orders.checkOrder(input);
  }

  /**
   * A new order (HL7 ORM NW / OMI, FHIR ServiceRequest create). The exam starts as `requested`.
   * `known.patient`: the patient `input.patient.id` names, as the caller read it moments ago in the same request
   * (FHIR reads the subject to check that the token may see it), so it is not read again.
   */
  createOrder(input: OrderInput, by: ChangeSource, known: { patient?: Patient } = {}): Promise<Exam> {
    return this.#orders.createOrder(input, by, known);
  }

  /** Changes order details (HL7 ORM XO, FHIR ServiceRequest update). Status changes go through changeStatus. */
  updateOrder(
    examNumber: string,
    changes: OrderChanges,
    by: ChangeSource,
    options: CommandOptions = {},
  ): Promise<Exam> {
    return this.#orders.updateOrder(examNumber, changes, by, options);
  }

  /** Cancels the order (HL7 ORM CA, FHIR status revoked). */
  cancel(examNumber: string, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    return this.#orders.cancel(examNumber, by, options);
  }

  /** Any lifecycle change; refused (TransitionRefusedError, nothing stored) unless lifecycle.ts allows it. */
  changeStatus(examNumber: string, to: ExamStatus, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    return this.#orders.changeStatus(examNumber, to, by, options);
  }

  /** Assigns the radiologist who reads the exam (status `assigned`). */
  assign(examNumber: string, radiologistId: string, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    return this.#orders.assign(examNumber, radiologistId, by, options);
  }

  // ---- studies (study-commands.ts) -----------------------------------------------------------------------

  /**
   * A DICOM study arrived for the exam. The first study moves a requested exam to images-received; a study for
   * a completed or cancelled exam reactivates it (it lands on the technician's exception list). The same study
   * again (more instances) updates the reference without a status change.
   */
  attachStudy(examNumber: string, study: StudyInput, by: ChangeSource): Promise<Exam> {
    return this.#studies.attachStudy(examNumber, study, by);
  }

  /**
   * All instances of an attached study arrived (dicom/study-completion.ts: no new instance for the quiet
   * time). Records the final counts and emits `exam.study-complete`, which routes the study to the radiologist
   * PACS. Called again when late instances re-open and re-complete a study: each call is one event.
   */
  completeStudy(examNumber: string, study: StudyCompletion, by: ChangeSource): Promise<Exam> {
    return this.#studies.completeStudy(examNumber, study, by);
  }

  // ---- patients (patient-commands.ts) --------------------------------------------------------------------

  /** Creates or updates a patient by identifier (ADT A01/A04/A08, an order's PID, FHIR Patient). */
  recordPatient(input: PatientInput, by: ChangeSource): Promise<{ patient: Patient; created: boolean }> {
    return this.#patientCommands.recordPatient(input, by);
  }

  /** Creates a new patient; refused (DuplicateError) when another patient holds one of its identifiers. */
  createPatient(input: PatientInput, by: ChangeSource): Promise<Patient> {
    return this.#patientCommands.createPatient(input, by);
  }

  /** The checks of createPatient, without storing anything. */
  checkNewPatient(input: PatientInput): Promise<void> {
    return this.#patientCommands.checkNewPatient(input);
  }

  /** Replaces a patient's demographics and identifiers (FHIR Patient update). */
  updatePatient(id: string, input: PatientInput, by: ChangeSource, options: CommandOptions = {}): Promise<Patient> {
    return this.#patientCommands.updatePatient(id, input, by, options);
  }

  /**
   * Merges patient A (`fromId`) into B (`intoId`), HL7 ADT^A40: A is kept, marked as merged with a link to B,
   * and every exam of A moves to B. Running it again after a crash finishes moving the exams.
   */
  mergePatients(
    fromId: string,
    intoId: string,
    by: ChangeSource,
  ): Promise<{ from: Patient; into: Patient; movedExams: string[] }> {
    return this.#patientCommands.mergePatients(fromId, intoId, by);
  }
}
