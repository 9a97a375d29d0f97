// What the work-area routes answer (admin-ui/facility-work-routes.ts, technician-routes.ts, billing-routes.ts,
// worklists.ts), as the app reads it. Kept beside the screens so the shared api/types.ts stays the console's.

export type Priority = 'stat' | 'asap' | 'urgent' | 'routine';
export const priorities: readonly Priority[] = ['stat', 'asap', 'urgent', 'routine'];

export interface ReportDelivery {
  channelId: string;
  destination: string;
  state: string;
  attempts: number;
  lastError?: string;
}

export interface WorkExam {
  examNumber: string;
  facility: string;
  patientId: string;
  procedure: { code: string; text?: string; display?: string };
  modality?: string;
  priority: Priority;
  status: string;
  reason?: string;
  scheduledAt?: string;
  technicianId?: string;
  acknowledgedAt?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
  studies: Array<{ studyInstanceUid: string; instanceCount?: number; modality?: string; completedAt?: string }>;
  reports: Array<{ id: string; status: string; issuedAt: string }>;
  reportState?: string;
  reportDeliveries?: ReportDelivery[];
  exception?: { reason: string; at: string };
  identifiers: Array<{ kind: string; value: string }>;
}

export interface PatientHit {
  id: string;
  name: { family?: string; given: string[] };
  birthDate: string | null;
  sex: string | null;
  mrns: string[];
}

export interface BillingStatement {
  facility: string;
  month: string;
  lines: Array<{
    examNumber: string;
    reportedAt: string;
    procedureCode: string;
    procedure: string;
    modality: string | null;
    priority: string;
    amount: number | null;
    currency: string | null;
  }>;
  totals: Record<string, number>;
  unpriced: number;
}

/** Lifecycle states in which a facility may still change the order (exams/lifecycle.ts, order-commands.ts). */
export const editableStatuses = ['requested', 'images-received', 'assigned', 'preliminary', 'reactivated'];
export const cancellableStatuses = ['requested', 'images-received', 'assigned', 'preliminary', 'reactivated'];

export function procedureOf(exam: Pick<WorkExam, 'procedure'>): string {
  return exam.procedure.text ?? exam.procedure.display ?? exam.procedure.code;
}

export function patientName(name: PatientHit['name']): string {
  return [name.family?.toUpperCase(), name.given.join(' ')].filter(Boolean).join(', ');
}
