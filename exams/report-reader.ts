// What the ways out read of a report: the report document and the file the facility receives. A small interface
// so the destinations (hl7/report-oru-destination.ts, fhir/report-push-destination.ts) need neither the report
// service's commands nor where its files live; the store-backed reader below reads the `reports` collection and
// the data dir, as the report service writes them (report.ts: `_id` is the report id, attachment paths relative
// to the data dir).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HubDb } from '../store/db.ts';
import type { Report, ReportAttachment } from './report.ts';

export const reportsCollection = 'reports';

export interface ReportReader {
  report(id: string): Promise<Report | undefined>;
  /** The attachment `report.documentId` names, with its bytes; undefined when the report has none. */
  document(report: Report): Promise<{ attachment: ReportAttachment; bytes: Buffer } | undefined>;
}

export class StoreReportReader implements ReportReader {
  readonly #db: HubDb;
  readonly #dataDir: string;

  constructor(db: HubDb, dataDir: string) {
    this.#db = db;
    this.#dataDir = path.resolve(dataDir);
  }

  async report(id: string): Promise<Report | undefined> {
    const found = await this.#db.collection<Report>(reportsCollection).findOne({ _id: id });
    return found ?? undefined;
  }

  async document(report: Report): Promise<{ attachment: ReportAttachment; bytes: Buffer } | undefined> {
    if (report.documentId === undefined) return undefined;
    const attachment = report.attachments.find((a) => a.id === report.documentId);
    if (attachment === undefined)
      throw new Error(`report ${report._id}: documentId ${report.documentId} names no attachment`);
    const file = path.resolve(this.#dataDir, attachment.path);
    // A path from the store must not leave the data dir (a hand-edited document, a bug elsewhere).
    if (!file.startsWith(this.#dataDir + path.sep))
      throw new Error(`report ${report._id}: attachment ${attachment.id} lies outside the data dir`);
    const bytes = await readFile(file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== attachment.sha256)
      throw new Error(`report ${report._id}: attachment ${attachment.id} does not match its SHA-256`);
    return { attachment, bytes };
  }
}
