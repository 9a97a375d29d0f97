// The exam service: the commands every protocol layer uses (HL7 orders and ADT, FHIR, DICOM matching, the
// admin UI). It knows no protocol: inputs are plain typed objects, failures are the typed errors of errors.ts.
// Every change is one atomic write of the document with its history entry and its events (see outbox.ts).
import { isDuplicateKeyError, type Document, type Filter, type HubCollection, type HubDb, type WithId } from '../store/db.ts';
import type { Logger } from '../runtime/log.ts';
import { checkSource, diff, type ChangeSource, type FieldValue } from './change.ts';
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
  type ExamIdentifier,
  type ExamIdentifierKind,
  type OrderChanges,
  type OrderInput,
  type PatientRef,
  type ReportRef,
  type StudyRef,
} from './exam.ts';
import { ExamNumbers } from './exam-number.ts';
import { DuplicateError, InvalidInputError, NotFoundError, TransitionRefusedError, VersionConflictError } from './errors.ts';
import { FacilityRegistry, type Facility } from './facility.ts';
import { refusal, type ExamStatus, type ReportStatus } from './lifecycle.ts';
import { ExamLists } from './lists.ts';
import { Outbox, pendingEvent, type ExamEventType, type PendingEvent } from './outbox.ts';
import { checkPatientInput, PatientRecords, type Patient, type PatientInput } from './patient.ts';
import { writeChange, type Change } from './versioned.ts';

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
}

export interface DateRange {
  /** Inclusive lower bound, ISO 8601 UTC. */
  from?: string;
  /** Exclusive upper bound. */
  before?: string;
}

export type ExamSortField = 'createdAt' | 'updatedAt' | 'scheduledAt' | 'examNumber' | 'priorityRank';

export interface ExamQuery {
  examNumbers?: string[];
  identifier?: { system?: string; value: string };
  patientIds?: string[];
  statuses?: readonly ExamStatus[];
  facilities?: readonly string[];
  created?: DateRange[];
  updated?: DateRange[];
  sort?: Array<{ field: ExamSortField; direction: 1 | -1 }>;
  skip?: number;
  limit?: number;
}

export interface PatientQuery {
  ids?: string[];
  identifier?: { system?: string; value: string };
  family?: string;
  birthDate?: string;
  updated?: DateRange[];
  /** Only patients with an exam at one of these facilities (facility-limited users). */
  facilities?: readonly string[];
  sort?: Array<{ field: 'updatedAt' | 'createdAt' | 'birthDate'; direction: 1 | -1 }>;
  skip?: number;
  limit?: number;
}

export interface Page<T> {
  total: number;
  items: T[];
}

export interface CommandOptions {
  /** The version the caller last saw (FHIR If-Match); a different stored version refuses the change. */
  expectedVersion?: number;
  reason?: string;
}

/** What the DICOM side knows of a study when it attaches it; the exam adds the times. */
export type StudyInput = Omit<StudyRef, 'receivedAt' | 'completedAt'>;

/** What a completed study tells the exam (dicom/study-completion.ts). */
export interface StudyCompletion {
  studyInstanceUid: string;
  instanceCount: number;
  seriesCount?: number;
}

/**
 * How long an exam created from images waits for its order to be merged by date and modality alone (without
 * an equal accession number): a late order normally follows the images within hours.
 */
const lateOrderWindowMs = 7 * 24 * 60 * 60 * 1000;

export interface ReportInput {
  id: string;
  status: ReportStatus;
  author?: string;
  location?: string;
  issuedAt?: string;
}

const maxRetries = 8;

export class ExamService {
  readonly facilities: FacilityRegistry;
  readonly patients: PatientRecords;
  readonly outbox: Outbox;
  readonly lists: ExamLists;
  readonly #db: HubDb;
  readonly #numbers: ExamNumbers;
  readonly #log: Logger;

  constructor(db: HubDb, options: ExamServiceOptions) {
    this.#db = db;
    this.#log = options.log;
    this.#numbers = new ExamNumbers(db, {
      ...(options.numberPrefix === undefined ? {} : { prefix: options.numberPrefix }),
      ...(options.numberBlockSize === undefined ? {} : { blockSize: options.numberBlockSize }),
    });
    this.facilities = new FacilityRegistry(db);
    this.patients = new PatientRecords(db);
    this.outbox = new Outbox(db, {
      log: options.log,
      ...(options.outboxPollMs === undefined ? {} : { pollMs: options.outboxPollMs }),
      ...(options.outboxOwner === undefined ? {} : { owner: options.outboxOwner }),
      ...(options.isAbandonedOwner === undefined ? {} : { isAbandonedOwner: options.isAbandonedOwner }),
    });
    this.lists = new ExamLists(db);
  }

  get #exams() {
    return this.#db.collection<Exam>('exams');
  }

  /** Creates indexes and starts the outbox publisher. */
  async start(): Promise<void> {
    await this.#exams.createIndex({ identifierKeys: 1 }, { unique: true, sparse: true });
    await this.#exams.createIndex({ patientId: 1 });
    // Exams made from images that still await their order are few: sparse indexes find them at once. Every new
    // order looks up lateOrderKey (Exam.lateOrderKey); the flag's index serves the keying below.
    await this.#exams.createIndex({ awaitingOrder: 1 }, { sparse: true });
    await this.#exams.createIndex({ lateOrderKey: 1 }, { sparse: true });
    // Exams from images stored before lateOrderKey existed: key them once (matches nothing afterwards).
    await this.#exams.updateMany({ awaitingOrder: true, lateOrderKey: { $exists: false } }, [
      { $set: { lateOrderKey: { $concat: ['$facility', '|', '$patientId'] } } },
    ]);
    await this.#exams.createIndex({ facility: 1, status: 1 });
    await this.#exams.createIndex({ technicianId: 1, status: 1 });
    await this.#exams.createIndex({ 'studies.studyInstanceUid': 1 });
    await this.#exams.createIndex({ updatedAt: 1 });
    await this.#exams.createIndex({ createdAt: 1 });
    await this.#exams.createIndex({ 'identifiers.value': 1 });
    await this.facilities.ensureIndexes();
    await this.patients.ensureIndexes();
    await this.outbox.start();
  }

  async stop(): Promise<void> {
    await this.outbox.stop();
  }

  // ---- queries -------------------------------------------------------------------------------------------

  async get(examNumber: string): Promise<Exam | undefined> {
    return (await this.#exams.findOne({ _id: examNumber })) ?? undefined;
  }

  async require(examNumber: string): Promise<Exam> {
    const exam = await this.get(examNumber);
    if (!exam) throw new NotFoundError('exam', examNumber);
    return exam;
  }

  /** The exam a facility knows by its placer/filler/accession number. */
  async findByIdentifier(facility: string, kind: ExamIdentifierKind, value: string, system?: string): Promise<Exam | undefined> {
    const key = identifierKeyOf(facility, system === undefined ? { kind, value } : { kind, value, system });
    return (await this.#exams.findOne({ identifierKeys: key })) ?? undefined;
  }

  async findByStudyUid(studyInstanceUid: string): Promise<Exam | undefined> {
    return (await this.#exams.findOne({ 'studies.studyInstanceUid': studyInstanceUid })) ?? undefined;
  }

  async findExams(query: ExamQuery): Promise<Page<Exam>> {
    return pageOf(this.#exams, examFilter(query), query);
  }

  async findPatients(query: PatientQuery): Promise<Page<Patient>> {
    const filter: Record<string, unknown> = {};
    if (query.ids) filter['_id'] = { $in: query.ids };
    if (query.identifier) Object.assign(filter, identifierFilter(query.identifier));
    if (query.family) filter['name.family'] = { $regex: `^${escapeRegex(query.family)}`, $options: 'i' };
    if (query.birthDate) filter['birthDate'] = query.birthDate;
    if (query.updated?.length) filter['$and'] = query.updated.map((r) => ({ updatedAt: rangeFilter(r) }));
    if (query.facilities) {
      const ids = await this.#exams.distinct('patientId', { facility: { $in: [...query.facilities] } });
      filter['_id'] = query.ids ? { $in: query.ids.filter((id) => ids.includes(id)) } : { $in: ids };
    }
    return pageOf(this.patients.collection, filter, query);
  }

  // ---- orders --------------------------------------------------------------------------------------------

  /**
   * Checks an order as createOrder would (facility, codes, staff, duplicate identifiers, an existing patient
   * id) without storing anything. A FHIR transaction checks every entry this way before writing any.
   * Without `patient` the patient is not checked (it is created by the same transaction).
   */
  async checkOrder(input: Omit<OrderInput, 'patient'> & { patient?: PatientRef }): Promise<void> {
    await this.#prepareOrder(input);
    if (input.patient && !isPatientInput(input.patient)) await this.#existingPatient(input.patient.id);
    if (input.patient && isPatientInput(input.patient)) checkPatientInput(input.patient, 'patient');
  }

  /**
   * A new order (HL7 ORM NW / OMI, FHIR ServiceRequest create). The exam starts as `requested`.
   * `known.patient`: the patient `input.patient.id` names, as the caller read it moments ago in the same request
   * (FHIR reads the subject to check that the token may see it), so it is not read again.
   */
  async createOrder(input: OrderInput, by: ChangeSource, known: { patient?: Patient } = {}): Promise<Exam> {
    const source = checkSource(by);
    const referenced = await this.#referencedPatient(input.patient, known.patient);
    if (input.origin !== 'images') {
      const merged = await this.#mergeLateOrder(input, source, referenced);
      if (merged) return merged;
    }
    // With a referenced patient the insert is the only write, and the unique index refuses a duplicate number
    // in it (#refuseDuplicates then names the holder); patient data is recorded first, so it is checked before.
    const { facility, procedure, priority, identifiers, keys, scheduledAt } = await this.#prepareOrder(input, referenced === undefined);
    const patient = referenced ?? (await this.#patientFor(input, source));
    const examNumber = await this.#numbers.next();
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
    if (input.reason) exam.reason = input.reason;
    if (input.technicianId) exam.technicianId = input.technicianId;
    if (input.radiologistId) exam.radiologistId = input.radiologistId;
    if (input.origin === 'images') {
      exam.awaitingOrder = true;
      exam.lateOrderKey = lateOrderKeyOf(facility.code, patient._id);
    }
    try {
      await this.#exams.insertOne(exam);
    } catch (error) {
      // Another process stored the same placer/filler/accession number since the check above.
      if (isDuplicateKeyError(error)) await this.#refuseDuplicates(keys, identifiers, facility.code);
      throw error;
    }
    this.outbox.kick();
    this.#log.debug('exam created', { examNumber, facility: facility.code, via: source.via });
    return exam;
  }

  /** Changes order details (HL7 ORM XO, FHIR ServiceRequest update). Status changes go through changeStatus. */
  async updateOrder(examNumber: string, changes: OrderChanges, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    try {
      return await this.#updateOrder(examNumber, changes, by, options);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const exam = await this.require(examNumber);
      const ids = checkIdentifiers(changes.identifiers ?? []);
      await this.#refuseDuplicates(ids.map((id) => identifierKeyOf(exam.facility, id)), ids, exam.facility);
      throw error;
    }
  }

  async #updateOrder(examNumber: string, changes: OrderChanges, by: ChangeSource, options: CommandOptions): Promise<Exam> {
    const source = checkSource(by);
    const procedure = changes.procedure === undefined ? undefined : checkProcedure(changes.procedure);
    const priority = changes.priority === undefined ? undefined : checkPriority(changes.priority);
    const scheduledAt = changes.scheduledAt ? checkDateTime(changes.scheduledAt, 'scheduledAt') : changes.scheduledAt;
    const added = checkIdentifiers(changes.identifiers ?? []);
    const patient = changes.patientId === undefined ? undefined : await this.patients.resolve(changes.patientId);
    return this.#mutate(examNumber, options, async (exam) => {
      const facility = await this.#facility(exam.facility);
      this.#checkStaff(facility, changes.technicianId ?? undefined, changes.radiologistId ?? undefined);
      const withNew = await this.#withNewIdentifiers(exam, added);
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
      if (patientChanged) {
        set.patientId = patient._id;
        if (exam.awaitingOrder) set.lateOrderKey = lateOrderKeyOf(exam.facility, patient._id);
      }
      const changed = diff(flat(exam), flat({ ...exam, ...set, ...Object.fromEntries(unset.map((k) => [k, undefined])) }));
      if (!changed && !withNew) return undefined;
      if (exam.status === 'cancelled' || exam.status === 'completed') {
        throw new TransitionRefusedError(exam.examNumber, exam.status, exam.status, 'a closed exam cannot be changed; reactivate it first');
      }
      const types: ExamEventType[] = ['exam.updated'];
      if (patientChanged) types.push('exam.patient-changed');
      return this.#change(exam, source, { set, unset, event: 'exam.updated', ...(changed ? { changes: changed } : {}) }, types, { ...(changed ? summarize(changed) : {}) });
    });
  }

  /** Cancels the order (HL7 ORM CA, FHIR status revoked). */
  cancel(examNumber: string, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    return this.changeStatus(examNumber, 'cancelled', by, options);
  }

  /** Any lifecycle change; refused (TransitionRefusedError, nothing stored) unless lifecycle.ts allows it. */
  async changeStatus(examNumber: string, to: ExamStatus, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    const source = checkSource(by);
    return this.#mutate(examNumber, options, async (exam) => {
      const refused = refusal(exam.status, to);
      if (refused) throw new TransitionRefusedError(exam.examNumber, exam.status, to, refused);
      return this.#statusChange(exam, to, source, {}, options.reason);
    });
  }

  /** Assigns the radiologist who reads the exam (status `assigned`). */
  async assign(examNumber: string, radiologistId: string, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    const source = checkSource(by);
    return this.#mutate(examNumber, options, async (exam) => {
      this.#checkStaff(await this.#facility(exam.facility), undefined, radiologistId);
      const refused = refusal(exam.status, 'assigned');
      if (refused) throw new TransitionRefusedError(exam.examNumber, exam.status, 'assigned', refused);
      return this.#statusChange(exam, 'assigned', source, { radiologistId }, options.reason);
    });
  }

  /**
   * A DICOM study arrived for the exam. The first study moves a requested exam to images-received; a study for
   * a completed or cancelled exam reactivates it (it lands on the technician's exception list). The same study
   * again (more instances) updates the reference without a status change.
   */
  async attachStudy(examNumber: string, study: StudyInput, by: ChangeSource): Promise<Exam> {
    const source = checkSource(by);
    if (!/^[0-9.]{1,64}$/.test(study.studyInstanceUid ?? '')) {
      throw new InvalidInputError('studyInstanceUid', 'expected a DICOM UID (digits and dots, at most 64 characters; PS3.5 §9)');
    }
    return this.#mutate(examNumber, {}, async (exam) => {
      const ref: StudyRef = { ...withoutUndefined(study), receivedAt: new Date().toISOString() };
      const index = exam.studies.findIndex((s) => s.studyInstanceUid === study.studyInstanceUid);
      const studies = index < 0 ? [...exam.studies, ref] : exam.studies.map((s, i) => (i === index ? { ...s, ...ref, receivedAt: s.receivedAt } : s));
      const to: ExamStatus | undefined =
        exam.status === 'requested' ? 'images-received' : exam.status === 'completed' || exam.status === 'cancelled' ? 'reactivated' : undefined;
      const data = { studyInstanceUid: study.studyInstanceUid, ...(to ? { from: exam.status, to } : {}) };
      const types: ExamEventType[] = ['exam.study-attached'];
      if (to) types.push(to === 'reactivated' ? 'exam.reactivated' : 'exam.status-changed');
      const set: Partial<Exam> = { studies };
      if (to) set.status = to;
      const changes = to ? { status: { from: exam.status, to } } : undefined;
      return this.#change(exam, source, { set, event: 'exam.study-attached', ...(changes ? { changes } : {}) }, types, data);
    });
  }

  /**
   * All instances of an attached study arrived (dicom/study-completion.ts: no new instance for the quiet
   * time). Records the final counts and emits `exam.study-complete`, which routes the study to the radiologist
   * PACS. Called again when late instances re-open and re-complete a study: each call is one event.
   */
  async completeStudy(examNumber: string, study: StudyCompletion, by: ChangeSource): Promise<Exam> {
    const source = checkSource(by);
    if (!Number.isInteger(study.instanceCount) || study.instanceCount < 1) throw new InvalidInputError('instanceCount', 'expected a whole number of instances above 0');
    return this.#mutate(examNumber, {}, async (exam) => {
      const index = exam.studies.findIndex((s) => s.studyInstanceUid === study.studyInstanceUid);
      if (index < 0) throw new InvalidInputError('studyInstanceUid', `study ${study.studyInstanceUid} is not attached to exam ${examNumber}`);
      const completedAt = new Date().toISOString();
      const counts = { instanceCount: study.instanceCount, ...(study.seriesCount === undefined ? {} : { seriesCount: study.seriesCount }) };
      const studies = exam.studies.map((s, i) => (i === index ? { ...s, ...counts, completedAt } : s));
      const data: Record<string, FieldValue> = { studyInstanceUid: study.studyInstanceUid, ...counts };
      return this.#change(exam, source, { set: { studies }, event: 'exam.study-complete' }, ['exam.study-complete'], data);
    });
  }

  /** A report (preliminary, final or amended) was issued; the exam takes the report's status. */
  async attachReport(examNumber: string, report: ReportInput, by: ChangeSource, options: CommandOptions = {}): Promise<Exam> {
    const source = checkSource(by);
    if (!report.id) throw new InvalidInputError('report.id', 'the report id is required');
    if (!['preliminary', 'final', 'amended'].includes(report.status)) throw new InvalidInputError('report.status', 'expected preliminary, final or amended');
    const issuedAt = report.issuedAt ? checkDateTime(report.issuedAt, 'report.issuedAt') : new Date().toISOString();
    return this.#mutate(examNumber, options, async (exam) => {
      // Several preliminary reports may precede the final one; a changed final report is an amendment.
      const refused = exam.status === 'preliminary' && report.status === 'preliminary' ? undefined : refusal(exam.status, report.status);
      if (refused) throw new TransitionRefusedError(exam.examNumber, exam.status, report.status, refused);
      const ref: ReportRef = { ...withoutUndefined({ id: report.id, status: report.status, author: report.author, location: report.location }), issuedAt };
      const set: Partial<Exam> = { reports: [...exam.reports, ref], status: report.status };
      const types: ExamEventType[] = ['exam.report-attached'];
      if (exam.status !== report.status) types.push('exam.status-changed');
      return this.#change(exam, source, { set, event: 'exam.report-attached', changes: { status: { from: exam.status, to: report.status } } }, types, {
        reportId: report.id,
        reportStatus: report.status,
        from: exam.status,
        to: report.status,
      });
    });
  }

  // ---- patients ------------------------------------------------------------------------------------------

  /** Creates or updates a patient by identifier (ADT A01/A04/A08, an order's PID, FHIR Patient). */
  recordPatient(input: PatientInput, by: ChangeSource): Promise<{ patient: Patient; created: boolean }> {
    return this.patients.record(input, checkSource(by)).finally(() => this.outbox.kick());
  }

  /** Creates a new patient; refused (DuplicateError) when another patient holds one of its identifiers. */
  async createPatient(input: PatientInput, by: ChangeSource): Promise<Patient> {
    await this.checkNewPatient(input);
    const patient = await this.patients.create(input, checkSource(by));
    this.outbox.kick();
    return patient;
  }

  /** The checks of createPatient, without storing anything. */
  async checkNewPatient(input: PatientInput): Promise<void> {
    checkPatientInput(input);
    for (const [i, id] of input.identifiers.entries()) {
      const holder = await this.patients.findByIdentifier(id.system, id.value);
      if (holder) throw new DuplicateError(`patient.identifiers[${i}]`, `${id.system}|${id.value}`, `patient ${holder._id}`);
    }
  }

  /** Replaces a patient's demographics and identifiers (FHIR Patient update). */
  updatePatient(id: string, input: PatientInput, by: ChangeSource, options: CommandOptions = {}): Promise<Patient> {
    return this.patients.update(id, input, checkSource(by), options.expectedVersion).finally(() => this.outbox.kick());
  }

  /**
   * Merges patient A (`fromId`) into B (`intoId`), HL7 ADT^A40: A is kept, marked as merged with a link to B,
   * and every exam of A moves to B. Running it again after a crash finishes moving the exams.
   */
  async mergePatients(fromId: string, intoId: string, by: ChangeSource): Promise<{ from: Patient; into: Patient; movedExams: string[] }> {
    const source = checkSource(by);
    const from = await this.patients.require(fromId);
    let merged: { from: Patient; into: Patient };
    if (from.mergedInto === intoId) merged = { from, into: await this.patients.require(intoId) };
    else merged = await this.patients.markMerged(fromId, intoId, source);
    const movedExams: string[] = [];
    // Closed exams move too, without reopening them: they still belong to the surviving patient.
    for (const exam of await this.#exams.find({ patientId: fromId }, { projection: { _id: 1 } }).toArray()) {
      await this.#movePatient(exam._id, intoId, source);
      movedExams.push(exam._id);
    }
    this.outbox.kick();
    return { ...merged, movedExams };
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /**
   * Late order merge. Images that matched no order made an exam of their own (origin `images`,
   * `awaitingOrder`). When the order for them arrives later (HL7 or FHIR), it must become that exam, not a
   * second one. The rule: same facility, same patient (the order's patient resolves to the exam's patient
   * through any identifier; a new patient cannot have such an exam), the exam still awaits its order and is
   * images-received or assigned, and either (1) one of the order's accession numbers equals the study's or
   * the exam's accession number, or (2) neither side's accession contradicts the other, both name the same
   * modality and the dates agree (the order's scheduled date within a day of the study date; without a
   * scheduled date, images received in the last 7 days). Accession matches win; then the newest exam.
   * Returns undefined when no exam qualifies: the order is then created as usual.
   */
  async #mergeLateOrder(input: OrderInput, by: ChangeSource, referenced: Patient | undefined): Promise<Exam | undefined> {
    if (typeof input.facility !== 'string' || !input.patient) return undefined;
    const patientId = isPatientInput(input.patient) ? await this.#knownPatientId(input.patient) : referenced?._id;
    if (patientId === undefined) return undefined;
    const waiting = await this.#exams.find({ lateOrderKey: lateOrderKeyOf(input.facility, patientId) }).toArray();
    const candidates = waiting.filter((exam) => exam.awaitingOrder === true && (exam.status === 'images-received' || exam.status === 'assigned'));
    if (candidates.length === 0) return undefined;
    const identifiers = checkIdentifiers(input.identifiers ?? []);
    const target = pickLateOrderTarget(candidates, identifiers, input);
    if (!target) return undefined;
    // The identifiers, already checked above, pass again here; the duplicate check is the merge's own below.
    const { procedure, priority, scheduledAt } = await this.#prepareOrder(input, false);
    if (isPatientInput(input.patient)) await this.patients.record(input.patient, by);
    const merged = await this.#mutate(target._id, {}, async (exam) => {
      if (!exam.awaitingOrder) throw new Error(`exam ${exam.examNumber}: merged by another order meanwhile`);
      const withNew = await this.#withNewIdentifiers(exam, identifiers);
      const set: Partial<Exam> = { procedure, priority, priorityRank: priorityRank(priority) };
      if (withNew) Object.assign(set, withNew);
      if (input.modality) set.modality = input.modality;
      if (scheduledAt) set.scheduledAt = scheduledAt;
      if (input.reason) set.reason = input.reason;
      if (input.technicianId) set.technicianId = input.technicianId;
      if (input.radiologistId) set.radiologistId = input.radiologistId;
      const changes = diff(flat(exam), flat({ ...exam, ...set }));
      const data: Record<string, FieldValue> = { mergedOrder: true, ...(changes ? summarize(changes) : {}) };
      return this.#change(exam, by, { set, unset: ['awaitingOrder', 'lateOrderKey'], event: 'exam.updated', reason: 'late order merged into the exam created from its images', ...(changes ? { changes } : {}) }, ['exam.updated'], data);
    });
    this.#log.info('late order merged into exam created from images', { examNumber: merged.examNumber, facility: merged.facility, via: by.via });
    return merged;
  }

  /** The surviving patient an order's `{ id }` names; undefined for a missing one or for patient data to record. */
  async #referencedPatient(ref: PatientRef | undefined, known: Patient | undefined): Promise<Patient | undefined> {
    if (!ref || isPatientInput(ref) || typeof ref.id !== 'string') return undefined;
    const patient = known?._id === ref.id ? known : await this.patients.get(ref.id);
    if (!patient) return undefined;
    return patient.mergedInto === undefined ? patient : this.patients.resolve(patient._id);
  }

  /** The id of an existing patient the order's patient data names, without creating or changing anyone. */
  async #knownPatientId(ref: PatientInput): Promise<string | undefined> {
    for (const id of Array.isArray(ref.identifiers) ? ref.identifiers : []) {
      if (typeof id?.system !== 'string' || typeof id.value !== 'string') continue;
      const patient = await this.patients.findByIdentifier(id.system, id.value);
      if (patient) return (await this.patients.resolve(patient._id))._id;
    }
    return undefined;
  }

  async #movePatient(examNumber: string, patientId: string, by: ChangeSource): Promise<Exam> {
    return this.#mutate(examNumber, {}, async (exam) => {
      if (exam.patientId === patientId) return undefined;
      const changes = { patientId: { from: exam.patientId, to: patientId } };
      const set: Partial<Exam> = exam.awaitingOrder ? { patientId, lateOrderKey: lateOrderKeyOf(exam.facility, patientId) } : { patientId };
      return this.#change(exam, by, { set, event: 'exam.patient-changed', changes }, ['exam.patient-changed'], { from: exam.patientId, to: patientId });
    });
  }

  #statusChange(exam: Exam, to: ExamStatus, by: ChangeSource, extra: Partial<Exam>, reason: string | undefined): ExamChange {
    const type: ExamEventType = to === 'cancelled' ? 'exam.cancelled' : to === 'reactivated' ? 'exam.reactivated' : 'exam.status-changed';
    const changes = { status: { from: exam.status, to } };
    const data: Record<string, FieldValue> = { from: exam.status, to };
    if (reason !== undefined) data['reason'] = reason;
    return this.#change(exam, by, { set: { ...extra, status: to }, event: type, changes, ...(reason === undefined ? {} : { reason }) }, [type], data);
  }

  #change(
    exam: Exam,
    by: ChangeSource,
    change: Omit<Change<Exam>, 'events' | 'by'>,
    types: ExamEventType[],
    data: Record<string, FieldValue>,
  ): ExamChange {
    const patientId = (change.set.patientId as string | undefined) ?? exam.patientId;
    return {
      ...change,
      by,
      events: (version, at): PendingEvent[] =>
        types.map((type, i) =>
          pendingEvent('exam', exam.examNumber, version, i, { type, at, by, examNumber: exam.examNumber, patientId, facility: exam.facility, data }),
        ),
    };
  }

  /**
   * Loads, computes and writes a change, retrying when another writer changed the exam in between (unless the
   * caller pinned a version). `build` returns undefined when there is nothing to change.
   */
  async #mutate(examNumber: string, options: CommandOptions, build: (exam: Exam) => Promise<ExamChange | undefined>): Promise<Exam> {
    for (let attempt = 0; attempt < maxRetries; attempt++) {
      const exam = await this.require(examNumber);
      if (options.expectedVersion !== undefined && options.expectedVersion !== exam.version) {
        throw new VersionConflictError(`exam ${examNumber}`, options.expectedVersion, exam.version);
      }
      const change = await build(exam);
      if (!change) return exam;
      const next = await writeChange(this.#exams, exam, change);
      if (next) {
        this.outbox.kick();
        return next;
      }
      if (options.expectedVersion !== undefined) throw new VersionConflictError(`exam ${examNumber}`, options.expectedVersion, exam.version + 1);
    }
    throw new Error(`exam ${examNumber}: gave up after ${maxRetries} concurrent changes`);
  }

  async #prepareOrder(input: Omit<OrderInput, 'patient'>, checkDuplicates = true) {
    const facility = await this.#facility(input.facility);
    const procedure = checkProcedure(input.procedure);
    const priority = checkPriority(input.priority);
    const identifiers = checkIdentifiers(input.identifiers ?? []);
    const scheduledAt = input.scheduledAt === undefined ? undefined : checkDateTime(input.scheduledAt, 'scheduledAt');
    this.#checkStaff(facility, input.technicianId, input.radiologistId);
    const keys = identifiers.map((id) => identifierKeyOf(facility.code, id));
    if (checkDuplicates) await this.#refuseDuplicates(keys, identifiers, facility.code);
    return { facility, procedure, priority, identifiers, keys, scheduledAt };
  }

  async #existingPatient(id: string): Promise<Patient> {
    if (typeof id !== 'string') throw new InvalidInputError('patient.id', 'expected a patient id');
    const patient = await this.#referencedPatient({ id }, undefined);
    if (!patient) throw new InvalidInputError('patient.id', `patient ${id} does not exist`);
    return patient;
  }

  async #facility(code: string): Promise<Facility> {
    if (typeof code !== 'string' || code === '') throw new InvalidInputError('facility', 'the facility code is required');
    const facility = await this.facilities.get(code);
    if (!facility) throw new InvalidInputError('facility', `unknown facility "${code}"`);
    if (!facility.active) throw new InvalidInputError('facility', `facility "${code}" is not active`);
    return facility;
  }

  #checkStaff(facility: Facility, technicianId: string | undefined, radiologistId: string | undefined): void {
    if (technicianId !== undefined && !facility.technicians.some((t) => t.id === technicianId)) {
      throw new InvalidInputError('technicianId', `"${technicianId}" is not a technician of facility ${facility.code}`);
    }
    if (radiologistId !== undefined && !facility.radiologists.some((r) => r.id === radiologistId)) {
      throw new InvalidInputError('radiologistId', `"${radiologistId}" is not a radiologist of facility ${facility.code}`);
    }
  }

  /**
   * The exam's identifiers with those of `ids` it does not hold yet, or undefined when it holds them all;
   * refused (DuplicateError) when another exam holds a new one.
   */
  async #withNewIdentifiers(exam: Exam, ids: readonly ExamIdentifier[]): Promise<Pick<Exam, 'identifiers' | 'identifierKeys'> | undefined> {
    const known = exam.identifierKeys ?? [];
    const newIds = ids.filter((id) => !known.includes(identifierKeyOf(exam.facility, id)));
    const newKeys = newIds.map((id) => identifierKeyOf(exam.facility, id));
    await this.#refuseDuplicates(newKeys, newIds, exam.facility);
    return newIds.length === 0 ? undefined : { identifiers: [...exam.identifiers, ...newIds], identifierKeys: [...known, ...newKeys] };
  }

  async #refuseDuplicates(keys: string[], ids: ExamIdentifier[], facility: string): Promise<void> {
    if (keys.length === 0) return;
    const existing = await this.#exams.findOne({ identifierKeys: { $in: keys } }, { projection: { _id: 1, identifierKeys: 1 } });
    if (!existing) return;
    const index = keys.findIndex((key) => existing.identifierKeys?.includes(key));
    const id = ids[Math.max(0, index)]!;
    throw new DuplicateError(`${id.kind} number at ${facility}`, id.value, `exam ${existing._id}`);
  }

  async #patientFor(input: OrderInput, by: ChangeSource): Promise<Patient> {
    if (!input.patient) throw new InvalidInputError('patient', 'the patient is required');
    if (isPatientInput(input.patient)) return (await this.patients.record(input.patient, by)).patient;
    return this.#existingPatient(input.patient.id);
  }
}

type ExamChange = Change<Exam>;

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

function flat(exam: Partial<Exam>): Record<string, FieldValue | undefined> {
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
function summarize(changes: Record<string, { from: FieldValue; to: FieldValue }>): Record<string, FieldValue> {
  const data: Record<string, FieldValue> = { fields: Object.keys(changes).join(',') };
  for (const key of ['priority', 'procedure', 'modality', 'patientId', 'technicianId', 'radiologistId', 'scheduledAt'] as const) {
    if (changes[key]) data[key] = changes[key].to;
  }
  return data;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** One page of a search and the total, without the history and outbox a list never shows. */
async function pageOf<T extends Document>(
  collection: HubCollection<T>,
  filter: Filter<T>,
  query: { sort?: ReadonlyArray<{ field: string; direction: 1 | -1 }>; skip?: number; limit?: number },
): Promise<Page<WithId<T>>> {
  const total = await collection.countDocuments(filter);
  if (query.limit === 0) return { total, items: [] };
  const items = await collection
    .find(filter, { projection: { history: 0, outbox: 0 } })
    .sort(sortSpec(query.sort))
    .skip(query.skip ?? 0)
    .limit(query.limit ?? 50)
    .toArray();
  return { total, items };
}

/** The requested order, then _id, so that pages never overlap or skip when sort keys tie. */
function sortSpec(sort: ReadonlyArray<{ field: string; direction: 1 | -1 }> | undefined): Record<string, 1 | -1> {
  const spec: Record<string, 1 | -1> = {};
  for (const s of sort ?? [{ field: 'createdAt', direction: -1 }]) spec[s.field] = s.direction;
  spec['_id'] = 1;
  return spec;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function rangeFilter(range: DateRange): Record<string, string> {
  const filter: Record<string, string> = {};
  if (range.from !== undefined) filter['$gte'] = range.from;
  if (range.before !== undefined) filter['$lt'] = range.before;
  return filter;
}

/** `identifiers.value` lets the store use its index; $elemMatch makes system and value match the same element. */
function identifierFilter(identifier: { system?: string; value: string }): Record<string, unknown> {
  const match = identifier.system === undefined ? { value: identifier.value } : { system: identifier.system, value: identifier.value };
  return { 'identifiers.value': identifier.value, identifiers: { $elemMatch: match } };
}

function examFilter(query: ExamQuery): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  const and: Array<Record<string, unknown>> = [];
  if (query.examNumbers) filter['_id'] = { $in: query.examNumbers };
  if (query.identifier) Object.assign(filter, identifierFilter(query.identifier));
  if (query.patientIds) filter['patientId'] = { $in: query.patientIds };
  if (query.statuses) filter['status'] = { $in: [...query.statuses] };
  if (query.facilities) filter['facility'] = { $in: [...query.facilities] };
  for (const range of query.created ?? []) and.push({ createdAt: rangeFilter(range) });
  for (const range of query.updated ?? []) and.push({ updatedAt: rangeFilter(range) });
  if (and.length > 0) filter['$and'] = and;
  return filter;
}

/** See ExamService.#mergeLateOrder for the rule. */
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
