// What every work-area route (facility user, technician, billing) checks before it acts: the caller's role and
// that the facility is one of theirs. A facility outside the caller's scope is a 403, as is an exam of one; the
// exam domain's typed errors become problems naming the field, so the web app shows them at that field.
import type { Context, Middleware } from 'koa';
import type { AuthState } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { ChangeSource } from '../exams/change.ts';
import { isExamError } from '../exams/errors.ts';
import type { Exam } from '../exams/exam.ts';
import type { ExamService } from '../exams/service.ts';

const statusOf = {
  invalid: 422,
  'not-found': 404,
  duplicate: 409,
  'transition-refused': 409,
  'version-conflict': 412,
  merged: 410,
} as const;

/** Domain errors as problems (http/problem.ts renders only HttpError). */
export const examErrors: Middleware = async (_ctx, next) => {
  try {
    await next();
  } catch (error) {
    if (!isExamError(error)) throw error;
    throw new HttpError(statusOf[error.code], error.message, { code: error.code, path: error.field, cause: error });
  }
};

export function workUser(ctx: Context) {
  return (ctx.state as AuthState).user;
}

export function workSource(ctx: Context): ChangeSource {
  return { actor: workUser(ctx).name, via: 'admin-ui' };
}

export function checkFacility(ctx: Context, facility: string): void {
  const allowed = workUser(ctx).facilities;
  if (allowed === undefined || allowed.includes(facility)) return;
  throw new HttpError(403, `you may not work for facility '${facility}'`, { code: 'forbidden' });
}

/** The exam the URL names, when it is of one of the caller's facilities (403 otherwise, 404 when unknown). */
export async function scopedExam(ctx: Context, exams: ExamService, examNumber: string): Promise<Exam> {
  const exam = await exams.get(examNumber);
  if (exam === undefined) throw new HttpError(404, `exam ${examNumber} does not exist`, { code: 'not-found' });
  checkFacility(ctx, exam.facility);
  return exam;
}

/** An exam as the work lists show it: no history, no outbox. */
export function examView(exam: Exam): Omit<Exam, 'history' | 'outbox'> {
  const { history: _history, outbox: _outbox, ...view } = exam;
  return view;
}
