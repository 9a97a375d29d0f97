// What the reading routes answer (admin-ui/reading-routes.ts, reports.ts, consultant-link-routes.ts), as these
// screens read it. Kept beside the screens that use them rather than in api/types.ts.

export type ReportState = 'draft' | 'preliminary' | 'final' | 'amended' | 'cancelled' | 'entered-in-error';

export interface ReadingLine {
  examNumber: string;
  facility: string;
  priority: 'stat' | 'asap' | 'urgent' | 'routine';
  procedure: string;
  modality: string | null;
  patientName: string;
  birthDate: string | null;
  readySince: string | null;
  report: { id: string; state: ReportState } | null;
  dictation?: { state: 'waiting' | 'transcribed'; transcriber: string | null } | null;
  /** Transcription queue only. */
  radiologist?: string;
  markedAt?: string;
}

export interface ReportAttachment {
  id: string;
  contentType: string;
  title: string;
  size: number;
  rendered: boolean;
  createdAt: string;
}

export interface Report {
  _id: string;
  examNumber: string;
  state: ReportState;
  version: number;
  findings?: string;
  impression?: string;
  author?: { id: string; name?: string };
  transcriber?: { id: string };
  signedAt?: string;
  reason?: string;
  documentId?: string;
  attachments: ReportAttachment[];
  createdAt: string;
}

export interface PriorReport {
  _id: string;
  examNumber: string;
  state: ReportState;
  procedure: string;
  findings?: string;
  impression?: string;
  signedAt?: string;
  author?: { id: string; name?: string };
  documentId?: string;
}

export interface Template {
  name: string;
  findings?: string;
  impression?: string;
}

export interface ReadingView extends Omit<ReadingLine, 'dictation'> {
  status: string;
  accession: string | null;
  studies: Array<{
    studyInstanceUid: string;
    modality: string | null;
    instanceCount: number | null;
    completedAt: string | null;
    viewerUrl: string | null;
  }>;
  reports: Report[];
  priors: PriorReport[];
  templates: Template[];
  dictation: {
    state: 'waiting' | 'transcribed';
    radiologist: string;
    transcriber?: string;
    reportId?: string;
  } | null;
}

export interface ConsultantLink {
  id: string;
  examNumber: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  uses: number;
  lastUsedAt?: string;
  state: 'open' | 'revoked' | 'expired';
  /** Only in the answer to the create. */
  path?: string;
}

/** The report the exam is on now: the latest not withdrawn. */
export function currentReport(reports: readonly Report[]): Report | undefined {
  return reports.filter((r) => r.state !== 'cancelled' && r.state !== 'entered-in-error').at(-1);
}

export const reportColor: Record<string, string> = {
  draft: 'gray',
  preliminary: 'yellow',
  final: 'teal',
  amended: 'grape',
};
