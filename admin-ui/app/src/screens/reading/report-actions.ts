// The report steps the reading screens take, over the report API every way in shares (admin-ui/reports.ts): each
// change names the version it was made on (If-Match), so two people on one draft get a 412 instead of
// overwriting each other. A step on an exam without a report first makes the draft.
import { post, request } from '../../api/client.ts';
import type { Report } from './types.ts';

export interface Text {
  findings: string;
  impression: string;
}

const pinned = (report: Report) => ({ 'if-match': `"${report.version}"` });

/** The exam's open report, made as an empty draft when it has none. */
export async function draftOf(examNumber: string, report: Report | undefined, text?: Text): Promise<Report> {
  if (report) return report;
  return post<Report>(`/api/exams/${encodeURIComponent(examNumber)}/reports`, text ?? {});
}

export async function saveDraft(examNumber: string, report: Report | undefined, text: Text): Promise<Report> {
  if (!report) return draftOf(examNumber, undefined, text);
  return request<Report>('PATCH', `/api/reports/${encodeURIComponent(report._id)}`, text, pinned(report));
}

export async function signFinal(examNumber: string, report: Report | undefined, text: Text): Promise<Report> {
  const draft = await draftOf(examNumber, report);
  return request<Report>('POST', `/api/reports/${encodeURIComponent(draft._id)}/sign`, text, pinned(draft));
}

export function amend(report: Report, text: Text, reason: string): Promise<Report> {
  return request<Report>(
    'POST',
    `/api/reports/${encodeURIComponent(report._id)}/amend`,
    { ...text, reason },
    pinned(report),
  );
}

export async function handOver(examNumber: string, report: Report | undefined, text: Text): Promise<void> {
  const saved = await saveDraft(examNumber, report, text);
  await post(`/api/transcription/${encodeURIComponent(examNumber)}/hand-over`, { reportId: saved._id });
}

export function markDictated(examNumber: string): Promise<unknown> {
  return post(`/api/reading/exams/${encodeURIComponent(examNumber)}/dictation`);
}

export async function uploadScan(examNumber: string, report: Report | undefined, file: File): Promise<Report> {
  const draft = await draftOf(examNumber, report);
  const form = new FormData();
  form.set('file', file, file.name);
  form.set('title', file.name);
  return request<Report>('POST', `/api/reports/${encodeURIComponent(draft._id)}/attachments`, form);
}

export function documentUrl(report: Pick<Report, '_id'>, attachment?: string): string {
  const base = `/api/reports/${encodeURIComponent(report._id)}/document`;
  return attachment === undefined ? base : `${base}?attachment=${encodeURIComponent(attachment)}`;
}
