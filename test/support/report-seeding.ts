// Puts reports into a test hub the way the report service does (exams/report.ts is the contract): the Report
// document in the `reports` collection, its PDF under the data dir with size and SHA-256, and a `report.issued`
// event published through the exam outbox. A stand-in for the service's commands, which the ways-out tests do
// not exercise; the event and document shapes are the service's.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Exam } from '../../exams/exam.ts';
import type { ExamEvent, PendingEvent } from '../../exams/outbox.ts';
import type { Report, ReportState } from '../../exams/report.ts';
import { reportsCollection } from '../../exams/report-reader.ts';
import type { ExamService } from '../../exams/service.ts';
import type { HubDb } from '../../store/db.ts';

export interface ReportHub {
  dataDir: string;
  db: HubDb;
  /** Publishes at once; without it (a hub in another process owns the publisher) its next poll does. */
  exams?: ExamService;
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

/** A minimal but well-formed PDF whose text names the report (pdf readers accept it). */
export function tinyPdf(text: string): Buffer {
  return Buffer.from(`%PDF-1.4\n% ${text}\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n`);
}

/**
 * Stores the report in `state` (with a PDF named by documentId unless `pdf` is false) and publishes its
 * report.issued event; returns the published event as a channel carries it.
 */
export async function issueReport(
  hub: ReportHub,
  exam: Exam,
  id: string,
  state: ReportState,
  content: { findings?: string; impression?: string; pdf?: boolean } = {},
): Promise<ExamEvent> {
  const reports = hub.db.collection<Report>(reportsCollection);
  const before = await reports.findOne({ _id: id });
  const version = (before?.version ?? 0) + 1;
  const now = new Date().toISOString();
  const report: Report = {
    _id: id,
    version,
    createdAt: before?.createdAt ?? now,
    updatedAt: now,
    history: [],
    outbox: [],
    examNumber: exam.examNumber,
    facility: exam.facility,
    patientId: exam.patientId,
    state,
    findings: content.findings ?? 'Findings line one.\nFindings line two.',
    impression: content.impression ?? `Impression of ${id} v${version}.`,
    author: { id: 'rad-chen', name: 'Dr. Wei Chen' },
    signedAt: now,
    identifiers: [],
    attachments: before?.attachments ?? [],
  };
  if (content.pdf !== false) {
    const bytes = tinyPdf(`${id} ${state} v${version}`);
    const relative = path.join('reports', id, `rendered-${version}.pdf`);
    await mkdir(path.join(hub.dataDir, 'reports', id), { recursive: true });
    await writeFile(path.join(hub.dataDir, relative), bytes);
    const attachmentId = `rendered-${version}.pdf`;
    report.attachments = [
      ...report.attachments,
      {
        id: attachmentId,
        contentType: 'application/pdf',
        title: 'Signed report',
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        path: relative,
        rendered: true,
        createdAt: now,
      },
    ];
    report.documentId = attachmentId;
  }
  await reports.replaceOne({ _id: id }, report, { upsert: true });
  const event: PendingEvent = {
    id: `report:${id}:${version}:0`,
    type: 'report.issued',
    at: now,
    by: { actor: 'rad-chen', via: 'test' },
    examNumber: exam.examNumber,
    patientId: exam.patientId,
    facility: exam.facility,
    version,
    data: { reportId: id, state, from: before?.state ?? 'draft' },
  };
  // The service writes the event in the report's own write; the publisher moves events from the exam documents
  // today, so the stand-in parks it there, bumping the version as every write with events does (the publisher
  // empties an outbox guarded by the version it read).
  await hub.db
    .collection<{ _id: string }>('exams')
    .updateOne({ _id: exam._id }, { $push: { outbox: event }, $inc: { version: 1 } } as never);
  const events = hub.db.collection<ExamEvent & { _id: string }>('exam_events');
  // A publisher run already under way (kicked by the order) may have read the exam before the push: run again.
  let published = null;
  for (let round = 0; round < 300 && published === null; round++) {
    await hub.exams?.outbox.publishPending();
    published = await events.findOne({ _id: event.id });
    if (published === null) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (published === null) throw new Error(`event ${event.id} was not published`);
  const { _id, ...rest } = published;
  return rest as ExamEvent;
}
