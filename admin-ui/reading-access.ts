// Who may work on which exam in the reading screens (issue 15): a user limited to facilities sees only theirs,
// and a radiologist reads only for the facilities whose radiologists name them (the same rule as the reading
// list, exams/lists.ts). Refusals are 403 with the reason; an exam that does not exist is 404.
import type { Context } from 'koa';
import type { AuthState, ApiUser } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { Exam } from '../exams/exam.ts';
import type { Patient } from '../exams/patient.ts';
import type { ExamService } from '../exams/service.ts';

export function userOf(ctx: Context): ApiUser {
  return (ctx.state as AuthState).user;
}

export function inScope(user: ApiUser, facility: string): boolean {
  return user.facilities === undefined || user.facilities.includes(facility);
}

/** The exam, when the user's facilities include it (403 otherwise, 404 when there is none). */
export async function examInScope(ctx: Context, exams: ExamService, examNumber: string): Promise<Exam> {
  const exam = await exams.get(examNumber);
  if (!exam) throw new HttpError(404, `exam '${examNumber}' not found`, { code: 'not-found' });
  if (!inScope(userOf(ctx), exam.facility))
    throw new HttpError(403, `this user may not see facility '${exam.facility}'`, { code: 'forbidden' });
  return exam;
}

/** 403 unless the signed-in radiologist is one of the exam facility's radiologists. */
export async function checkReadsFor(ctx: Context, exams: ExamService, exam: Pick<Exam, 'facility'>): Promise<void> {
  const user = userOf(ctx);
  if (!user.roles.includes('radiologist') || user.roles.includes('admin')) return;
  const facility = await exams.facilities.get(exam.facility);
  if (facility?.radiologists.some((r) => r.id === user.name)) return;
  throw new HttpError(403, `${user.name} is not a radiologist of facility '${exam.facility}'`, {
    code: 'forbidden',
  });
}

/** "Müller, Zoë": family first, as the report PDF prints it. */
export function patientName(patient: Patient | undefined): string {
  const name = patient?.name;
  return name ? [name.family, ...name.given].filter(Boolean).join(', ') : '';
}

/** The exam's current report: the latest not withdrawn (cancelled, entered in error). */
export function currentReportRef(exam: Exam): Exam['reports'][number] | undefined {
  const refs = [...exam.reports].sort((a, b) => a.issuedAt.localeCompare(b.issuedAt));
  return refs.filter((r) => r.status !== 'cancelled' && r.status !== 'entered-in-error').at(-1);
}

/** When the study became complete: the radiologist's waiting time counts from here. */
export function readySince(exam: Pick<Exam, 'studies'>): string | undefined {
  return exam.studies
    .map((s) => s.completedAt)
    .filter((at): at is string => at !== undefined)
    .sort()
    .at(-1);
}

export function procedureText(exam: Exam): string {
  return exam.procedure.text ?? exam.procedure.display ?? exam.procedure.code;
}
