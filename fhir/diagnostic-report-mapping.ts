// FHIR R4 DiagnosticReport <-> report, both ways. A DiagnosticReport is the report seen through FHIR (id = the
// report id): basedOn names the exam's ServiceRequest, imagingStudy its studies, resultsInterpreter the
// radiologist as a Practitioner (id = the facility's radiologist id), conclusion the impression, and
// presentedForm the document (the PDF, or the uploaded scan) plus the findings as text/plain. Report states map
// one to one onto R4 DiagnosticReport.status; a draft reads as `partial` (R4: "data may be incomplete").
import type { Attachment, DiagnosticReport, Identifier, Reference } from '@medplum/fhirtypes';
import type { Exam } from '../exams/exam.ts';
import type { ReportAttachment, ReportState } from '../exams/report.ts';
import type { ReportSummary } from '../exams/report-queries.ts';
import { fhirError } from './outcome.ts';
import { localReferenceId } from './request-context.ts';

/** The hub's report id as an identifier (ORU^R01 OBR-3 carries the same value). */
export const reportIdSystem = 'urn:rso-hub:report-id';
/** R4 diagnostic-service-sections (HL7 v2 table 0074): RAD. */
const radiology = { system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD', display: 'Radiology' };

export type DiagnosticStatus = DiagnosticReport['status'];

const statusOf: Record<ReportState, DiagnosticStatus> = {
  draft: 'partial',
  preliminary: 'preliminary',
  final: 'final',
  amended: 'amended',
  cancelled: 'cancelled',
  'entered-in-error': 'entered-in-error',
};

export function diagnosticStatus(state: ReportState): DiagnosticStatus {
  return statusOf[state];
}

/** The report states a `status` search value matches. */
export function statesFor(status: string): ReportState[] {
  return (Object.keys(statusOf) as ReportState[]).filter(
    (state) => statusOf[state] === status || (status === 'registered' && state === 'draft'),
  );
}

/** A status a client sends, as the report state; corrected and appended are amendments (R4 status codes). */
export function stateOf(status: DiagnosticStatus, at: string): ReportState {
  switch (status) {
    case 'registered':
    case 'partial':
      return 'draft';
    case 'preliminary':
    case 'final':
    case 'amended':
    case 'cancelled':
    case 'entered-in-error':
      return status;
    case 'corrected':
    case 'appended':
      return 'amended';
    default:
      throw fhirError(422, 'code-invalid', `status ${status} is not a report state the hub keeps`, `${at}.status`);
  }
}

export interface ReportView {
  report: ReportSummary;
  exam: Pick<Exam, 'examNumber' | 'procedure' | 'patientId' | 'studies' | 'authoredOn' | 'createdAt'>;
  /** The document's bytes when the report has one (documentId). */
  document?: { attachment: ReportAttachment; bytes: Buffer };
}

export function toDiagnosticReport({ report, exam, document }: ReportView): DiagnosticReport {
  const { procedure } = exam;
  const resource: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: report._id,
    meta: { versionId: String(report.version), lastUpdated: report.updatedAt },
    identifier: [{ system: reportIdSystem, value: report._id }, ...report.identifiers.map((id) => ({ ...id }))],
    basedOn: [{ reference: `ServiceRequest/${exam.examNumber}` }],
    status: diagnosticStatus(report.state),
    category: [{ coding: [radiology] }],
    code: {
      coding: [
        {
          code: procedure.code,
          ...(procedure.system ? { system: procedure.system } : {}),
          ...((procedure.display ?? procedure.text) ? { display: procedure.display ?? procedure.text } : {}),
        },
      ],
      ...(procedure.text ? { text: procedure.text } : {}),
    },
    subject: { reference: `Patient/${report.patientId}` },
    effectiveDateTime: exam.authoredOn ?? exam.createdAt,
    issued: report.signedAt ?? report.updatedAt,
  };
  if (report.author)
    resource.resultsInterpreter = [
      { reference: `Practitioner/${report.author.id}`, ...(report.author.name ? { display: report.author.name } : {}) },
    ];
  if (exam.studies.length > 0)
    resource.imagingStudy = exam.studies.map((study) => ({ reference: `ImagingStudy/${study.studyInstanceUid}` }));
  if (report.impression) resource.conclusion = report.impression;
  const forms: Attachment[] = [];
  if (document)
    forms.push({
      contentType: document.attachment.contentType,
      data: document.bytes.toString('base64'),
      title: document.attachment.title,
      size: document.attachment.size,
      creation: document.attachment.createdAt,
    });
  if (report.findings)
    forms.push({
      contentType: 'text/plain; charset=utf-8',
      language: 'en',
      data: Buffer.from(report.findings, 'utf8').toString('base64'),
      title: 'Findings',
    });
  if (forms.length > 0) resource.presentedForm = forms;
  return resource;
}

export interface MappedReport {
  examNumber: string;
  state: ReportState;
  findings?: string;
  impression?: string;
  author?: string;
  identifiers: Array<{ system: string; value: string }>;
  /** Files in presentedForm other than text (PDF, TIFF, JPEG), decoded. */
  files: Array<{ bytes: Buffer; contentType: string; title?: string }>;
  signedAt?: string;
  subjectId?: string;
}

/** `at` is the FHIRPath of the resource for error expressions; `base` the server's base URL. */
export function fromDiagnosticReport(resource: DiagnosticReport, base: string, at = 'DiagnosticReport'): MappedReport {
  const examNumber = referenced(resource.basedOn?.[0], 'ServiceRequest', base, `${at}.basedOn`);
  if (examNumber === undefined)
    throw fhirError(
      422,
      'required',
      "basedOn must name the exam's ServiceRequest (ServiceRequest/<exam number>)",
      `${at}.basedOn`,
    );
  const mapped: MappedReport = {
    examNumber,
    state: stateOf(resource.status, at),
    identifiers: (resource.identifier ?? [])
      .filter(ownIdentifier)
      .map((id, i) => identifierOf(id, `${at}.identifier[${i}]`)),
    files: [],
  };
  if (resource.conclusion?.trim()) mapped.impression = resource.conclusion;
  const author = referenced(resource.resultsInterpreter?.[0], 'Practitioner', base, `${at}.resultsInterpreter`);
  if (author !== undefined) mapped.author = author;
  const subject = referenced(resource.subject, 'Patient', base, `${at}.subject`);
  if (subject !== undefined) mapped.subjectId = subject;
  if (resource.issued && (mapped.state === 'final' || mapped.state === 'amended')) mapped.signedAt = resource.issued;
  const texts: string[] = [];
  for (const [i, form] of (resource.presentedForm ?? []).entries()) {
    const path = `${at}.presentedForm[${i}]`;
    if (form.data === undefined)
      throw fhirError(422, 'not-supported', 'presentedForm must carry its data (url is not fetched)', `${path}.data`);
    const bytes = Buffer.from(form.data, 'base64');
    const type = (form.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'text/plain') texts.push(bytes.toString('utf8'));
    else mapped.files.push({ bytes, contentType: type, ...(form.title ? { title: form.title } : {}) });
  }
  if (texts.length > 0) mapped.findings = texts.join('\n\n');
  return mapped;
}

function ownIdentifier(id: Identifier): boolean {
  return id.system !== reportIdSystem;
}

function identifierOf(id: Identifier, at: string): { system: string; value: string } {
  if (!id.system || !id.value) throw fhirError(422, 'required', 'an identifier needs system and value', at);
  return { system: id.system, value: id.value };
}

function referenced(ref: Reference | undefined, type: string, base: string, at: string): string | undefined {
  if (ref?.reference === undefined) return undefined;
  const id = localReferenceId(ref.reference, type, base);
  if (id === undefined)
    throw fhirError(422, 'processing', `${ref.reference} is not a ${type} of this server (${type}/<id>)`, at);
  return id;
}
