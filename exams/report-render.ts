// What the report PDF shows, as plain values: the exam domain gathers them (report, exam, patient, facility) and
// the renderer the composition root wires (documents/report-pdf.ts) turns them into bytes. The input's shape is
// the renderer's own (documents/ is a floor below); the renderer itself comes in as a function, so exams/ does
// not load pdfkit.
import type { ReportPdfInput } from '../documents/report-pdf.ts';
import type { ReportPdfFile } from '../documents/report-pdf-file.ts';
import type { Exam } from './exam.ts';
import type { Facility } from './facility.ts';
import type { Patient } from './patient.ts';
import type { Report } from './report.ts';

export type ReportDocumentInput = ReportPdfInput;

/**
 * Renders the report's PDF and creates `file` with it, durably (its data and its folder entries synced), before
 * it resolves with the bytes: documents/report-pdf-file.ts, on a PDF thread in the hub.
 */
export type ReportRenderer = (input: ReportDocumentInput, file: ReportPdfFile) => Promise<Uint8Array>;

export function documentInput(
  report: Omit<Report, 'history' | 'outbox'>,
  exam: Exam,
  patient: Patient | undefined,
  facility: Facility | undefined,
): ReportDocumentInput {
  const name = patient?.name;
  const patientName = name ? [name.family, ...(name.given ?? [])].filter(Boolean).join(', ') : '';
  const mrn = patient?.identifiers.find((id) => id.facility === exam.facility) ?? patient?.identifiers[0];
  const input: ReportDocumentInput = {
    facilityName: facility?.name ?? exam.facility,
    patient: { name: patientName || '(no name)', id: mrn?.value ?? exam.patientId },
    examNumber: exam.examNumber,
    procedure: exam.procedure.text ?? exam.procedure.display ?? exam.procedure.code,
    state: report.state,
    amended: report.state === 'amended',
    reportId: report._id,
    version: report.version,
  };
  if (patient?.birthDate) input.patient.birthDate = patient.birthDate;
  const accession = exam.identifiers.find((id) => id.kind === 'accession')?.value;
  if (accession) input.accession = accession;
  input.orderedAt = exam.authoredOn ?? exam.createdAt;
  const studyDate = exam.studies.find((s) => s.studyDate)?.studyDate;
  if (studyDate) input.studyDate = studyDate;
  if (report.findings) input.findings = report.findings;
  if (report.impression) input.impression = report.impression;
  if (report.author) input.radiologist = report.author.name ?? report.author.id;
  if (report.transcriber) input.transcriber = report.transcriber.name ?? report.transcriber.id;
  if (report.signedAt) input.signedAt = report.signedAt;
  if (report.reason) input.reason = report.reason;
  return input;
}
