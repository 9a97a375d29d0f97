// The document a facility receives for a report (exams/report.ts: `documentId` names one of the report's
// attachments, a file under the data dir), read for delivery by fax or e-mail. The bytes are checked against the
// attachment's SHA-256, so a file changed or cut on disk is never faxed as the signed report.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Report, ReportAttachment } from '../exams/report.ts';
import type { HubDb } from '../store/db.ts';

export interface ReportDocument {
  report: Report;
  attachment: ReportAttachment;
  bytes: Buffer;
}

/** Why the document is not there yet (worth a retry) or never will be (a failure). */
export class ReportDocumentError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.name = 'ReportDocumentError';
    this.permanent = permanent;
  }
}

export async function loadReportDocument(db: HubDb, dataDir: string, reportId: string): Promise<ReportDocument> {
  const report = await db.collection<Report>('reports').findOne({ _id: reportId });
  if (report === null) throw new ReportDocumentError(`report ${reportId} is not stored (yet)`, false);
  if (report.documentId === undefined)
    throw new ReportDocumentError(`report ${reportId} has no document yet (it may still be rendering)`, false);
  const attachment = report.attachments.find((a) => a.id === report.documentId);
  if (attachment === undefined)
    throw new ReportDocumentError(
      `report ${reportId}: document ${report.documentId} is not among its attachments`,
      true,
    );
  const file = path.resolve(dataDir, attachment.path);
  if (!file.startsWith(path.resolve(dataDir) + path.sep))
    throw new ReportDocumentError(`report ${reportId}: document path leaves the data dir`, true);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ReportDocumentError(
      `report ${reportId}: cannot read ${attachment.path}: ${(error as Error).message}`,
      false,
    );
  }
  if (createHash('sha256').update(bytes).digest('hex') !== attachment.sha256)
    throw new ReportDocumentError(`report ${reportId}: ${attachment.path} does not match its SHA-256`, true);
  return { report: report as Report, attachment, bytes };
}
