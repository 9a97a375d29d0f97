// A dictated report (oru-mapping.ts) applied to the report service. The exam is found by the numbers the OBR
// carries: the filler number when it is the hub's exam number (the hub fills the orders it sends a dictation
// system), else placer, filler and accession within the sending facility. An ORU for an order nobody knows is
// not dropped: the hub opens an exam for it from PID and OBR, on the technician's exception list with the reason,
// and files the report there, so the radiologist's words wait for a person instead of vanishing.
//
// One dictation is one report per exam: the exam's newest report that is not cancelled or in error is the one a
// later P, F or C changes (P -> preliminary, F -> signed final, C or a second F -> amended).
import type { ChangeSource } from '../exams/change.ts';
import type { Exam, ExamIdentifier } from '../exams/exam.ts';
import type { Facility } from '../exams/facility.ts';
import { namespaceSystem } from '../exams/identity-systems.ts';
import type { Report } from '../exams/report.ts';
import type { ReportContent } from '../exams/report-service.ts';
import type { ExamService } from '../exams/service.ts';
import { fieldText } from './field-text.ts';
import type { Hl7Message } from './message.ts';
import type { DictatedReport } from './oru-mapping.ts';
import { patientFrom } from './patient-mapping.ts';

export interface DictationOutcome {
  examNumber: string;
  reportId: string;
  state: Report['state'];
  /** Set when the order was unknown and the exam was opened on the exception list. */
  exception?: string;
}

export function orderIdentifiers(report: DictatedReport, facility: Facility): ExamIdentifier[] {
  const ids: ExamIdentifier[] = [];
  const add = (kind: 'placer' | 'filler', n: DictatedReport['placer']) => {
    if (n === undefined) return;
    const system = namespaceSystem(facility, n.namespace);
    ids.push(system === undefined ? { kind, value: n.value } : { kind, value: n.value, system });
  };
  add('placer', report.placer);
  add('filler', report.filler);
  if (report.accession !== undefined) ids.push({ kind: 'accession', value: report.accession });
  return ids;
}

export async function findDictatedExam(
  exams: ExamService,
  report: DictatedReport,
  facility: () => Promise<Facility>,
): Promise<Exam | undefined> {
  if (report.filler !== undefined) {
    const own = await exams.get(report.filler.value);
    if (own !== undefined) return own;
  }
  const at = await facility();
  for (const id of orderIdentifiers(report, at)) {
    const exam = await exams.findByIdentifier(at.code, id.kind, id.value);
    if (exam !== undefined) return exam;
  }
  return undefined;
}

/** The exam for an order the hub does not know, on the exception list with why. */
export async function openExceptionExam(
  exams: ExamService,
  message: Hl7Message,
  report: DictatedReport,
  facility: Facility,
  by: ChangeSource,
): Promise<{ exam: Exam; reason: string }> {
  const numbers = orderIdentifiers(report, facility).map((id) => `${id.kind} '${id.value}'`);
  const reason = `a dictated report (ORU^R01) arrived for an order the hub does not know (${numbers.join(', ')})`;
  const code = fieldText(message, 'OBR-4.1');
  const text = fieldText(message, 'OBR-4.2');
  const exam = await exams.createOrder(
    {
      facility: facility.code,
      patient: patientFrom(message, facility),
      identifiers: orderIdentifiers(report, facility),
      procedure: { code: code ?? 'UNKNOWN', ...(text === undefined ? {} : { text }) },
      exception: reason,
    },
    by,
  );
  return { exam, reason };
}

export async function applyDictation(
  exams: ExamService,
  exam: Exam,
  dictated: DictatedReport,
  by: ChangeSource,
): Promise<Report> {
  const content: ReportContent = {
    ...(dictated.findings === undefined ? {} : { findings: dictated.findings }),
    ...(dictated.impression === undefined ? {} : { impression: dictated.impression }),
    ...(dictated.interpreter === undefined ? {} : { author: dictated.interpreter.id }),
  };
  const signed = dictated.signedAt === undefined ? {} : { signedAt: dictated.signedAt };
  const reports = await exams.reports.listByExam(exam.examNumber);
  const open = reports.filter((r) => r.state !== 'cancelled' && r.state !== 'entered-in-error').at(-1);
  let report = open === undefined ? undefined : await exams.reports.require(open._id);
  if (report === undefined) {
    // A new report starts as a draft when a PDF comes with it: files are taken before the signature.
    const state = dictated.pdf !== undefined ? 'draft' : dictated.state === 'preliminary' ? 'preliminary' : 'final';
    report = await exams.reports.create({ examNumber: exam.examNumber, state, ...content, ...signed }, by);
    if (state !== 'draft' && dictated.state !== 'amended') return report;
  }
  if (dictated.pdf !== undefined && (report.state === 'draft' || report.state === 'preliminary'))
    report = await exams.reports.attach(
      report._id,
      { bytes: dictated.pdf, contentType: 'application/pdf', title: 'Dictated report' },
      by,
    );
  if (dictated.state === 'preliminary') return exams.reports.preliminary(report._id, content, by);
  if (report.state === 'draft' || report.state === 'preliminary') {
    report = await exams.reports.sign(report._id, content, by, signed);
    if (dictated.state === 'final') return report;
  }
  const why =
    dictated.state === 'amended' ? 'corrected by dictation (OBR-25 C)' : 'signed again by dictation (OBR-25 F)';
  return exams.reports.amend(report._id, content, why, by);
}
