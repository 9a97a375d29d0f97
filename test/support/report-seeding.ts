// Reports for the ways-out tests, written through the report service (ExamService.reports) with its PDF renderer,
// and the `report.issued` event each change publishes, as the report channel receives it. Tests name reports by
// an alias of their own; the service picks the ids.
import { renderReportPdfFile } from '../../documents/report-pdf-file.ts';
import type { Exam } from '../../exams/exam.ts';
import type { ExamEvent } from '../../exams/outbox.ts';
import type { Report } from '../../exams/report.ts';
import type { ExamService } from '../../exams/service.ts';
import type { HubDb } from '../../store/db.ts';

export interface ReportHub {
  db: HubDb;
  exams: ExamService;
}

export async function orderExam(exams: ExamService, placer: string, facility = 'VALLEYGEN'): Promise<Exam> {
  return exams.createOrder(
    {
      facility,
      patient: {
        identifiers: [{ system: 'urn:oid:2.16.840.1.113883.3.9999.1', value: `MRN-${placer}` }],
        name: { family: 'Doe', given: ['Jane'] },
        birthDate: '1970-02-03',
        sex: 'female',
      },
      identifiers: [
        { kind: 'placer', value: placer, system: 'urn:oid:2.16.840.1.113883.3.9999.2' },
        { kind: 'accession', value: `ACC-${placer}` },
      ],
      procedure: { code: 'CTHEAD', text: 'CT head' },
      modality: 'CT',
    },
    { actor: 'channel:test-orders', via: 'hl7' },
  );
}

const ids = new WeakMap<ExamService, Map<string, string>>();
const by = { actor: 'rad-chen', via: 'test' };

/** The service's id of the report a test calls `alias`. */
export function reportIdOf(hub: ReportHub, alias: string): string {
  const id = ids.get(hub.exams)?.get(alias);
  if (id === undefined) throw new Error(`no report ${alias} yet`);
  return id;
}

/** Creates or moves the report to `state` (rendering its PDF) and returns its published report.issued event. */
export async function issueReport(
  hub: ReportHub,
  exam: Exam,
  alias: string,
  state: 'preliminary' | 'final' | 'amended',
  content: { findings?: string; impression?: string } = {},
): Promise<ExamEvent> {
  hub.exams.reports.renderWith(renderReportPdfFile);
  const text = {
    findings: content.findings ?? 'Findings line one.\nFindings line two.',
    impression: content.impression ?? `Impression of ${alias} (${state}).`,
    author: 'rad-chen',
  };
  const known = ids.get(hub.exams) ?? new Map<string, string>();
  ids.set(hub.exams, known);
  const id = known.get(alias);
  let report: Report;
  if (id === undefined) {
    report = await hub.exams.reports.create(
      { examNumber: exam.examNumber, state: state === 'preliminary' ? 'preliminary' : 'final', ...text },
      by,
    );
    known.set(alias, report._id);
    if (state === 'amended') report = await hub.exams.reports.amend(report._id, text, 'test amendment', by);
  } else if (state === 'preliminary') report = await hub.exams.reports.preliminary(id, text, by);
  else if (state === 'final') report = await hub.exams.reports.sign(id, text, by);
  else report = await hub.exams.reports.amend(id, text, 'test amendment', by);
  return publishedEvent(hub, report);
}

async function publishedEvent(hub: ReportHub, report: Report): Promise<ExamEvent> {
  const events = hub.db.collection<ExamEvent & { _id: string }>('exam_events');
  for (let round = 0; round < 300; round++) {
    await hub.exams.outbox.publishPending();
    const found = await events.findOne({ type: 'report.issued', 'data.reportId': report._id, version: report.version });
    if (found !== null) {
      const { _id, ...event } = found;
      return event as ExamEvent;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no report.issued event for ${report._id} v${report.version}`);
}
