// The DiagnosticReport endpoints: create, update (If-Match), read and search, views of the report service
// (exams/report-service.ts). A create or update is checked whole before the first write: the resource (medplum
// validation), the exam basedOn names (unknown: 422; another facility's: 403), every file in presentedForm
// (sniffed, a PDF must open, the size limit: 413). Then it becomes the service's commands in their order: the
// content and files while the report is a draft or preliminary, then the state change, each pinned to the
// version the one before produced.
import { createHash } from 'node:crypto';
import type { Bundle, DiagnosticReport } from '@medplum/fhirtypes';
import { AttachmentTooLargeError, checkUpload } from '../exams/report-files.ts';
import type { Report } from '../exams/report.ts';
import type { ReportQuery, ReportSummary } from '../exams/report-queries.ts';
import type { ReportContent } from '../exams/report-service.ts';
import type { ExamService } from '../exams/service.ts';
import {
  fromDiagnosticReport,
  reportIdSystem,
  statesFor,
  toDiagnosticReport,
  type MappedReport,
} from './diagnostic-report-mapping.ts';
import { fhirError, fromDomainError } from './outcome.ts';
import { canSeeFacility, facilityLimit, searchReferenceId, type FhirContext } from './request-context.ts';
import { parseCount, parseDate, parseOffset, parseSort, parseToken, searchset, values } from './search.ts';
import type { ResourceValidator } from './validator.ts';

export interface ReportResult {
  status: 200 | 201;
  resource: DiagnosticReport;
  version: number;
}

const sortFields = { issued: 'signedAt', date: 'signedAt', _lastUpdated: 'updatedAt', _id: '_id' } as const;

/** Domain field names as FHIRPath of the resource the client sent. */
function fieldPath(field: string): string | undefined {
  const paths: Record<string, string> = {
    author: 'DiagnosticReport.resultsInterpreter',
    impression: 'DiagnosticReport.conclusion',
    findings: 'DiagnosticReport.presentedForm',
    attachment: 'DiagnosticReport.presentedForm',
    status: 'DiagnosticReport.status',
    state: 'DiagnosticReport.status',
    signedAt: 'DiagnosticReport.issued',
  };
  return paths[field] ?? (field.startsWith('identifiers') ? 'DiagnosticReport.identifier' : undefined);
}

function domainError(error: unknown): unknown {
  if (error instanceof AttachmentTooLargeError)
    return fhirError(413, 'too-costly', error.message, 'DiagnosticReport.presentedForm');
  return fromDomainError(error, fieldPath) ?? error;
}

export class DiagnosticReportResource {
  readonly #exams: ExamService;
  readonly #validator: ResourceValidator;

  constructor(exams: ExamService, validator: ResourceValidator) {
    this.#exams = exams;
    this.#validator = validator;
  }

  async read(id: string, context: FhirContext): Promise<{ resource: DiagnosticReport; version: number }> {
    const report = await this.#exams.reports.get(id);
    if (!report || !canSeeFacility(context, report.facility))
      throw fhirError(404, 'not-found', `DiagnosticReport/${id} is not known`);
    return { resource: await this.render(report), version: report.version };
  }

  async render(report: ReportSummary): Promise<DiagnosticReport> {
    const exam = await this.#exams.require(report.examNumber);
    const document = report.documentId === undefined ? undefined : await this.#exams.reports.documentOf(report);
    return toDiagnosticReport({ report, exam, ...(document ? { document } : {}) });
  }

  async create(body: unknown, context: FhirContext): Promise<ReportResult> {
    const resource = await this.#validator.validate(body, ['DiagnosticReport']);
    const mapped = await this.#checked(resource, context);
    if (!['draft', 'preliminary', 'final'].includes(mapped.state))
      throw fhirError(
        422,
        'business-rule',
        `a new report is partial, preliminary or final, not ${resource.status}`,
        'DiagnosticReport.status',
      );
    const reports = this.#exams.reports;
    try {
      const content = contentOf(mapped);
      const first = (mapped.files.length === 0 ? mapped.state : 'draft') as 'draft' | 'preliminary' | 'final';
      let report = await reports.create(
        {
          examNumber: mapped.examNumber,
          state: first,
          ...content,
          ...(mapped.signedAt ? { signedAt: mapped.signedAt } : {}),
        },
        context.by,
      );
      for (const file of mapped.files)
        report = await reports.attach(report._id, file, context.by, { expectedVersion: report.version });
      if (first !== mapped.state) report = await this.#transition(report, mapped, {}, context);
      return { status: 201, resource: await this.render(report), version: report.version };
    } catch (error) {
      throw domainError(error);
    }
  }

  async update(id: string, body: unknown, context: FhirContext, expectedVersion?: number): Promise<ReportResult> {
    const resource = await this.#validator.validate(body, ['DiagnosticReport']);
    if (resource.id !== id)
      throw fhirError(
        400,
        'invalid',
        `the resource id (${resource.id ?? 'none'}) must equal the id in the URL (${id})`,
        'DiagnosticReport.id',
      );
    const current = await this.#exams.reports.get(id);
    if (!current || !canSeeFacility(context, current.facility))
      throw fhirError(404, 'not-found', `DiagnosticReport/${id} is not known`);
    if (expectedVersion !== undefined && expectedVersion !== current.version)
      throw fhirError(
        412,
        'conflict',
        `DiagnosticReport/${id}: If-Match version ${expectedVersion} is not the current version ${current.version}`,
      );
    const mapped = await this.#checked(resource, context);
    if (mapped.examNumber !== current.examNumber)
      throw fhirError(
        422,
        'business-rule',
        `a report cannot move to another exam (it is on ${current.examNumber})`,
        'DiagnosticReport.basedOn',
      );
    // The hub's own PDF (or a scan already kept) sent back unchanged is not a new file.
    const known = new Set(current.attachments.map((a) => a.sha256));
    const files = mapped.files.filter((f) => !known.has(createHash('sha256').update(f.bytes).digest('hex')));
    const reports = this.#exams.reports;
    try {
      let report: Report = current;
      const pin = () => ({ expectedVersion: report.version });
      for (const file of files) report = await reports.attach(id, file, context.by, pin());
      report = await this.#transition(report, mapped, contentOf(mapped, true), context);
      return { status: 200, resource: await this.render(report), version: report.version };
    } catch (error) {
      throw domainError(error);
    }
  }

  async search(params: URLSearchParams, context: FhirContext): Promise<Bundle> {
    const count = parseCount(params.get('_count'));
    const offset = parseOffset(params.get('_offset'));
    const page = await this.#exams.reports.search({ ...this.#query(params, context), skip: offset, limit: count });
    const resources = await Promise.all(page.items.map((report) => this.render(report)));
    return searchset(resources, {
      base: context.base,
      type: 'DiagnosticReport',
      params,
      total: page.total,
      offset,
      count,
    });
  }

  /** The resource mapped, its exam found and visible, its files acceptable: nothing is written before this. */
  async #checked(resource: DiagnosticReport, context: FhirContext): Promise<MappedReport> {
    const mapped = fromDiagnosticReport(resource, context.base);
    const exam = await this.#exams.get(mapped.examNumber);
    if (!exam)
      throw fhirError(
        422,
        'not-found',
        `ServiceRequest/${mapped.examNumber}: no such exam to report on`,
        'DiagnosticReport.basedOn',
      );
    if (!canSeeFacility(context, exam.facility))
      throw fhirError(
        403,
        'forbidden',
        `you may not report on exams of facility ${exam.facility}`,
        'DiagnosticReport.basedOn',
      );
    if (mapped.subjectId !== undefined && mapped.subjectId !== exam.patientId)
      throw fhirError(
        422,
        'business-rule',
        `subject must be the exam's patient (Patient/${exam.patientId})`,
        'DiagnosticReport.subject',
      );
    if (['final', 'amended'].includes(mapped.state) && mapped.author === undefined)
      throw fhirError(
        422,
        'required',
        `a ${mapped.state} report needs resultsInterpreter (Practitioner/<radiologist id>)`,
        'DiagnosticReport.resultsInterpreter',
      );
    const limit = this.#exams.reports.files?.maxBytes ?? 0;
    for (const [i, file] of mapped.files.entries()) {
      try {
        await checkUpload(file.bytes, limit, file.contentType);
      } catch (error) {
        const path = `DiagnosticReport.presentedForm[${i}]`;
        if (error instanceof AttachmentTooLargeError) throw fhirError(413, 'too-costly', error.message, path);
        const known = fromDomainError(error);
        throw known ? fhirError(422, 'invalid', known.message, path) : error;
      }
    }
    return mapped;
  }

  /** The service command that takes the report to the state the resource asks for, with its content. */
  async #transition(
    report: Report,
    mapped: MappedReport,
    content: ReportContent,
    context: FhirContext,
  ): Promise<Report> {
    const reports = this.#exams.reports;
    const options = { expectedVersion: report.version };
    const reason = `${mapped.state} through FHIR by ${context.by.actor}`;
    switch (mapped.state) {
      case 'draft':
        return reports.edit(report._id, content, context.by, options);
      case 'preliminary':
        return reports.preliminary(report._id, content, context.by, options);
      case 'final':
        if (report.state === 'final' && unchanged(report, content)) return report;
        return reports.sign(report._id, content, context.by, {
          ...options,
          ...(mapped.signedAt ? { signedAt: mapped.signedAt } : {}),
        });
      case 'amended':
        if (report.state === 'amended' && unchanged(report, content)) return report;
        return reports.amend(report._id, content, reason, context.by, options);
      case 'cancelled':
        return report.state === 'cancelled' ? report : reports.cancel(report._id, reason, context.by, options);
      case 'entered-in-error':
        return report.state === 'entered-in-error'
          ? report
          : reports.enteredInError(report._id, reason, context.by, options);
    }
  }

  #query(params: URLSearchParams, context: FhirContext): ReportQuery {
    const query: ReportQuery = {};
    const identifiers = values(params, 'identifier').flat();
    if (identifiers.length > 1)
      throw fhirError(400, 'not-supported', 'identifier: only one identifier per search is supported', 'identifier');
    if (identifiers[0] !== undefined) {
      const token = parseToken(identifiers[0]);
      if (token.system === reportIdSystem) query.ids = [token.value];
      else query.identifier = token;
    }
    const ids = values(params, '_id').flat();
    if (ids.length > 0) query.ids = [...(query.ids ?? []), ...ids];
    const patients = ['patient', 'subject'].flatMap((name) =>
      values(params, name)
        .flat()
        .map((ref) => searchReferenceId(ref, 'Patient', context, name)),
    );
    if (patients.length > 0) query.patientIds = patients;
    const exams = values(params, 'based-on')
      .flat()
      .map((ref) => searchReferenceId(ref, 'ServiceRequest', context, 'based-on'));
    if (exams.length > 0) query.examNumbers = exams;
    const statuses = values(params, 'status').flat();
    if (statuses.length > 0) query.states = statuses.flatMap(statesFor);
    const dates = params.getAll('date').map((v) => parseDate(v, 'date'));
    if (dates.length > 0) query.dates = dates;
    const sort = parseSort(params.get('_sort'), sortFields);
    if (sort) query.sort = sort;
    const limit = facilityLimit(context);
    if (limit) query.facilities = limit;
    return query;
  }
}

/** What the resource says of text and people. A PUT replaces the text; the author is kept unless named. */
function contentOf(mapped: MappedReport, replace = false): ReportContent {
  const content: ReportContent = { identifiers: mapped.identifiers };
  if (mapped.findings !== undefined || replace) content.findings = mapped.findings ?? null;
  if (mapped.impression !== undefined || replace) content.impression = mapped.impression ?? null;
  if (mapped.author !== undefined) content.author = mapped.author;
  return content;
}

function unchanged(report: Report, content: ReportContent): boolean {
  return (
    (content.findings ?? undefined) === report.findings &&
    (content.impression ?? undefined) === report.impression &&
    (content.author === undefined || content.author === report.author?.id)
  );
}
