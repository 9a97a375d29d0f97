// The report commands (issue 12): draft, edit, preliminary, sign final, amend, cancel, entered-in-error, attach a
// file; and reading them. Every way in (web app JSON, FHIR DiagnosticReport, HL7 ORU^R01 from dictation) calls
// these, so each refuses the same change with the same reason. A change is one write of the report with its
// history entry and its event (report.saved, or report.issued which the report channel delivers on), through
// versioned.ts as exams are written; what the exam shows of it follows (report-exam-sync.ts). A final or amended
// report's PDF is rendered and stored before the state change is written, so a delivery never waits for it.
import { randomUUID } from 'node:crypto';
import { isDuplicateKeyError, type HubDb } from '../store/db.ts';
import type { Logger } from '../runtime/log.ts';
export type { ReportContent } from './report-content.ts';
import { checkSource, type ChangeSource, type FieldValue, type HistoryEntry } from './change.ts';
import { InvalidInputError, NotFoundError, ReportRefusedError, VersionConflictError } from './errors.ts';
import type { Exam } from './exam.ts';
import type { ExamWrites } from './exam-writes.ts';
import type { Facility, FacilityRegistry } from './facility.ts';
import { pendingEvent, type PendingEvent } from './outbox.ts';
import type { PatientRecords } from './patient.ts';
import { reportRefusal, type Report, type ReportAttachment, type ReportState } from './report.ts';
import { examStatusFor, ReportExamSync, stepOf } from './report-exam-sync.ts';
import { checkUpload, ReportFiles, uploadId } from './report-files.ts';
import { mergeContent, type ReportContent } from './report-content.ts';
import { findReports, reportsOfExam, type ReportQuery, type ReportSummary } from './report-queries.ts';
import { documentInput, type ReportRenderer } from './report-render.ts';
import { writeChange, type Change } from './versioned.ts';
import type { Page } from './exam-queries.ts';

export interface NewReport extends ReportContent {
  examNumber: string;
  /** Default draft. A dictation system or a FHIR client may send a report already preliminary or final. */
  state?: 'draft' | 'preliminary' | 'final';
  /** When it was signed, if the sender says (ISO 8601 with zone); default: now. */
  signedAt?: string;
}

export interface ReportOptions {
  /** The version the caller last saw (If-Match); another stored version refuses the change. */
  expectedVersion?: number;
}

export interface ReportServiceDeps {
  db: HubDb;
  writes: ExamWrites;
  facilities: FacilityRegistry;
  patients: PatientRecords;
  log: Logger;
  /** Where files are kept; without it attach() is refused and no PDF is stored. */
  dataDir?: string;
  maxAttachmentBytes?: number;
}

const maxRetries = 8;
const issuedStates: readonly ReportState[] = ['preliminary', 'final', 'amended', 'cancelled', 'entered-in-error'];

export class ReportService {
  readonly #db: HubDb;
  readonly #writes: ExamWrites;
  readonly #facilities: FacilityRegistry;
  readonly #patients: PatientRecords;
  readonly #sync: ReportExamSync;
  readonly files: ReportFiles | undefined;
  #renderer: ReportRenderer | undefined;
  /**
   * The bytes of each PDF this service rendered and stored, keyed by the attachment object of the write that
   * named it: the report a command returns serves its new PDF without reading back the file it just synced. A
   * report read from the store has attachment objects of its own, so every later read checks the file on disk.
   */
  readonly #stored = new WeakMap<ReportAttachment, Uint8Array>();

  constructor(deps: ReportServiceDeps) {
    this.#db = deps.db;
    this.#writes = deps.writes;
    this.#facilities = deps.facilities;
    this.#patients = deps.patients;
    this.#sync = new ReportExamSync(deps.writes, this.collection, deps.log);
    this.files = deps.dataDir === undefined ? undefined : new ReportFiles(deps.dataDir, deps.maxAttachmentBytes);
  }

  get collection() {
    return this.#db.collection<Report>('reports');
  }

  /** Wired by the composition root (PDF threads): final and amended reports then get their PDF as a file. */
  renderWith(renderer: ReportRenderer): void {
    this.#renderer = renderer;
  }

  /** Indexes, then the exam steps a crash left behind (report-exam-sync.ts). */
  async start(): Promise<void> {
    const reports = this.collection;
    await reports.createIndex({ examNumber: 1 });
    await reports.createIndex({ patientId: 1 });
    await reports.createIndex({ facility: 1, state: 1 });
    await reports.createIndex({ 'identifiers.value': 1 });
    await reports.createIndex({ createdAt: 1 });
    await reports.createIndex({ pendingExam: 1 }, { sparse: true });
    await this.#sync.repairPending();
  }

  // ---- reading -----------------------------------------------------------------------------------------

  async get(reportId: string): Promise<Report | undefined> {
    return (await this.collection.findOne({ _id: reportId })) ?? undefined;
  }

  async require(reportId: string): Promise<Report> {
    const report = await this.get(reportId);
    if (!report) throw new NotFoundError('report', reportId);
    return report;
  }

  listByExam(examNumber: string): Promise<ReportSummary[]> {
    return reportsOfExam(this.collection, examNumber);
  }

  search(query: ReportQuery): Promise<Page<ReportSummary>> {
    return findReports(this.collection, query);
  }

  /** The file a facility receives (documentId) or the one named, checked against its size and SHA-256. */
  async document(reportId: string, attachmentId?: string) {
    const report = await this.require(reportId);
    return { report, ...(await this.documentOf(report, attachmentId)) };
  }

  /** document() of a report the caller has just read (a search hit, a delivery's report): no second read. */
  async documentOf(report: Pick<Report, '_id' | 'attachments' | 'documentId'>, attachmentId?: string) {
    const id = attachmentId ?? report.documentId;
    const attachment = report.attachments.find((a) => a.id === id);
    if (id === undefined || attachment === undefined || this.files === undefined)
      throw new InvalidInputError('attachment', `report ${report._id} has no document${id ? ` ${id}` : ''}`);
    const stored = this.#stored.get(attachment);
    return { attachment, bytes: stored ? Buffer.from(stored) : await this.files.read(attachment) };
  }

  // ---- commands ----------------------------------------------------------------------------------------

  /** A new report on an exam: a draft, or (dictation, FHIR) directly preliminary or final. */
  async create(input: NewReport, by: ChangeSource): Promise<Report> {
    const source = checkSource(by);
    const state = input.state ?? 'draft';
    if (!['draft', 'preliminary', 'final'].includes(state))
      throw new InvalidInputError('state', `a new report is draft, preliminary or final, not ${state}`);
    const exam = await this.#writes.get(input.examNumber);
    if (!exam) throw new NotFoundError('exam', input.examNumber);
    const facility = await this.#facilities.get(exam.facility);
    for (let n = exam.reports.length + 1; ; n++) {
      const id = `${exam.examNumber}-R${n}`;
      const examStatus = examStatusFor(exam, id, 'new', state);
      const blank: Report = {
        _id: id,
        examNumber: exam.examNumber,
        facility: exam.facility,
        patientId: exam.patientId,
        state: 'draft',
        identifiers: [],
        attachments: [],
        version: 0,
        createdAt: '',
        updatedAt: '',
        history: [],
        outbox: [],
      };
      const { set } = await this.#prepare(blank, state, input, facility, exam, input.signedAt);
      const at = new Date().toISOString();
      const report: Report = { ...blank, ...set, version: 1, createdAt: at, updatedAt: at };
      const type = state === 'draft' ? 'report.saved' : 'report.issued';
      const entry: HistoryEntry = { at, version: 1, event: type, by: source };
      report.history = [entry];
      report.outbox = [this.#event(report, type, 1, at, source, state, state === 'draft' ? undefined : 'new')];
      const step = stepOf(report, 1, examStatus, source);
      report.pendingExam = step;
      try {
        await this.collection.insertOne(report);
      } catch (error) {
        if (isDuplicateKeyError(error) && n < exam.reports.length + 50) continue;
        throw error;
      }
      this.#writes.outbox.kick();
      await this.#sync.finish(id, exam.examNumber, step);
      delete report.pendingExam;
      return report;
    }
  }

  /** Changes text or people of a draft or preliminary report (a signed one is amended instead). */
  edit(reportId: string, content: ReportContent, by: ChangeSource, options: ReportOptions = {}): Promise<Report> {
    return this.#change(reportId, undefined, { content }, by, options);
  }

  preliminary(reportId: string, content: ReportContent, by: ChangeSource, options: ReportOptions = {}) {
    return this.#change(reportId, 'preliminary', { content }, by, options);
  }

  /** Signs the report final; the author must be one of the exam facility's radiologists. */
  sign(
    reportId: string,
    content: ReportContent,
    by: ChangeSource,
    options: ReportOptions & { signedAt?: string } = {},
  ) {
    return this.#change(reportId, 'final', { content, signedAt: options.signedAt }, by, options);
  }

  /** Amends a final (or amended) report: new text, why, and a new signature; it is delivered again. */
  amend(reportId: string, content: ReportContent, reason: string, by: ChangeSource, options: ReportOptions = {}) {
    return this.#change(reportId, 'amended', { content, reason }, by, options);
  }

  cancel(reportId: string, reason: string, by: ChangeSource, options: ReportOptions = {}) {
    return this.#change(reportId, 'cancelled', { reason }, by, options);
  }

  enteredInError(reportId: string, reason: string, by: ChangeSource, options: ReportOptions = {}) {
    return this.#change(reportId, 'entered-in-error', { reason }, by, options);
  }

  /**
   * Keeps an uploaded scan (PDF, TIFF, JPEG) with a draft or preliminary report; it becomes the document a
   * facility receives. The file is on disk, synced, before the report names it.
   */
  async attach(
    reportId: string,
    upload: { bytes: Uint8Array; contentType?: string; title?: string },
    by: ChangeSource,
    options: ReportOptions = {},
  ): Promise<Report> {
    const source = checkSource(by);
    if (this.files === undefined) throw new InvalidInputError('attachment', 'this hub keeps no report files');
    const type = await checkUpload(upload.bytes, this.files.maxBytes, upload.contentType);
    const first = await this.#current(reportId, options);
    if (first.state !== 'draft' && first.state !== 'preliminary')
      throw new ReportRefusedError(
        reportId,
        first.state,
        first.state,
        'a signed report takes a file only by amendment',
      );
    const title = (upload.title ?? '').trim() || 'Scanned report';
    const attachment = await this.files.store(reportId, uploadId(type), upload.bytes, {
      contentType: type,
      title,
      rendered: false,
    });
    return this.#write(reportId, options, async (report) => {
      if (report.state !== first.state)
        throw new ReportRefusedError(reportId, report.state, report.state, 'it changed');
      return {
        set: { attachments: [...report.attachments, attachment], documentId: attachment.id },
        event: 'report.saved',
        by: source,
        changes: { documentId: { from: report.documentId ?? null, to: attachment.id } },
        events: (version, at) => [this.#event(report, 'report.saved', version, at, source, report.state)],
      };
    });
  }

  // ---- the one change path -----------------------------------------------------------------------------

  async #change(
    reportId: string,
    to: ReportState | undefined,
    what: { content?: ReportContent; reason?: string; signedAt?: string | undefined },
    by: ChangeSource,
    options: ReportOptions,
  ): Promise<Report> {
    const source = checkSource(by);
    if ((to === 'amended' || to === 'cancelled' || to === 'entered-in-error') && !what.reason?.trim())
      throw new InvalidInputError('reason', `say why the report is ${to}`);
    let step: ReturnType<typeof stepOf> | undefined;
    const written = await this.#write(reportId, options, async (report) => {
      const target = to ?? report.state;
      if (to === undefined && report.state !== 'draft' && report.state !== 'preliminary')
        throw new ReportRefusedError(reportId, report.state, report.state, 'a signed report is amended, not edited');
      const refused = reportRefusal(report.state, target);
      if (refused !== undefined) throw new ReportRefusedError(reportId, report.state, target, refused);
      const exam = await this.#writes.require(report.examNumber);
      const examStatus = examStatusFor(exam, reportId, report.state, target);
      const facility = await this.#facilities.get(exam.facility);
      const { set, unset } = await this.#prepare(
        report,
        target,
        what.content ?? {},
        facility,
        exam,
        what.signedAt,
        what.reason,
      );
      const issue = to !== undefined && issuedStates.includes(target);
      const type = issue ? 'report.issued' : 'report.saved';
      const moved = target !== report.state || (report.state !== 'draft' && issue);
      if (moved) step = stepOf({ ...report, ...set }, report.version + 1, examStatus, source);
      else step = undefined;
      if (step) set.pendingExam = step;
      return {
        set,
        unset,
        event: type,
        by: source,
        ...(target === report.state ? {} : { changes: { state: { from: report.state, to: target } } }),
        ...(what.reason === undefined ? {} : { reason: what.reason }),
        events: (version, at) => [
          this.#event(report, type, version, at, source, target, issue ? report.state : undefined),
        ],
      };
    });
    if (step !== undefined) {
      await this.#sync.finish(reportId, written.examNumber, step);
      delete written.pendingExam;
    }
    return written;
  }

  async #current(reportId: string, options: ReportOptions): Promise<Report> {
    const report = await this.require(reportId);
    if (options.expectedVersion !== undefined && options.expectedVersion !== report.version)
      throw new VersionConflictError(`report ${reportId}`, options.expectedVersion, report.version);
    return report;
  }

  async #write(
    reportId: string,
    options: ReportOptions,
    build: (report: Report) => Promise<Change<Report>>,
  ): Promise<Report> {
    for (let attempt = 0; attempt < maxRetries; attempt++) {
      const report = await this.#current(reportId, options);
      const next = await writeChange(this.collection, report, await build(report));
      if (next) {
        this.#writes.outbox.kick();
        return next;
      }
      if (options.expectedVersion !== undefined)
        throw new VersionConflictError(`report ${reportId}`, options.expectedVersion, report.version + 1);
    }
    throw new Error(`report ${reportId}: gave up after ${maxRetries} concurrent changes`);
  }

  /**
   * The fields a change to `to` sets: merged content, checked people, the signature, and for final and
   * amended the rendered PDF, stored before the change is written (rendered-<version>.pdf).
   */
  async #prepare(
    report: Report,
    to: ReportState,
    content: ReportContent,
    facility: Facility | undefined,
    exam: Exam,
    signedAt?: string,
    reason?: string,
  ): Promise<{ set: Partial<Report>; unset: Array<keyof Report & string> }> {
    const { set, unset, next } = mergeContent(report, to, content, facility, exam, signedAt, reason);
    if (to === 'final' || to === 'amended') await this.#render(next, set, exam, facility);
    return { set, unset };
  }

  async #render(next: Report, set: Partial<Report>, exam: Exam, facility: Facility | undefined): Promise<void> {
    if (this.#renderer === undefined || this.files === undefined) return;
    const version = next.version + 1;
    const patient = await this.#patients.get(exam.patientId);
    const id = `rendered-${version}.pdf`;
    const title = next.state === 'amended' ? 'Amended report' : 'Signed report';
    // A file of its own per render: two writers racing for one version (or one report id) each render, and the
    // loser's file must not replace the one the winner's document names.
    const file = this.files.target(next._id, `rendered-${version}-${randomUUID().slice(0, 8)}.pdf`);
    const bytes = await this.#renderer(documentInput({ ...next, version }, exam, patient, facility), file);
    const attachment = this.files.record(file.relative, bytes, {
      id,
      contentType: 'application/pdf',
      title,
      rendered: true,
    });
    this.#stored.set(attachment, bytes);
    set.attachments = [...next.attachments.filter((a) => a.id !== id), attachment];
    const scan = next.attachments.some((a) => !a.rendered && a.id === next.documentId);
    if (!scan) set.documentId = id;
  }

  #event(
    report: Pick<Report, '_id' | 'examNumber' | 'patientId' | 'facility'>,
    type: 'report.saved' | 'report.issued',
    version: number,
    at: string,
    by: ChangeSource,
    state: ReportState,
    from?: ReportState | 'new',
  ): PendingEvent {
    const data: Record<string, FieldValue> = { reportId: report._id, state };
    if (from !== undefined) data['from'] = from;
    return pendingEvent('report', report._id, version, 0, {
      type,
      at,
      by,
      examNumber: report.examNumber,
      patientId: report.patientId,
      facility: report.facility,
      data,
    });
  }
}
