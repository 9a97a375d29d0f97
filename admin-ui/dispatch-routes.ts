// Technician dispatch over HTTP: assign an exam to a technician (who alone is notified) and acknowledge it (which
// stops escalation). A token limited to some facilities acts only on their exams. The notices themselves go out
// on the technician-dispatch channel, from the events these writes emit.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { requireRole, type AuthState } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import type { ChangeSource } from '../exams/change.ts';
import { ExamError } from '../exams/errors.ts';
import type { Exam } from '../exams/exam.ts';
import type { ExamService } from '../exams/service.ts';
import { expectKeys, expectObject, expectString, optionalString } from '../runtime/validate.ts';

const bodyLimit = 16 * 1024;

function sourceOf(ctx: Context): ChangeSource {
  return { actor: (ctx.state as AuthState).user.name, via: 'admin-ui' };
}

async function examFor(ctx: Context, exams: ExamService): Promise<Exam> {
  const exam = await exams.get(ctx.params['examNumber']!);
  const allowed = (ctx.state as AuthState).user.facilities;
  // A stranger's exam answers as a missing one: its existence is not for a token of another facility.
  if (exam === undefined || (allowed !== undefined && !allowed.includes(exam.facility)))
    throw new HttpError(404, `exam ${ctx.params['examNumber']} does not exist`, { code: 'not-found' });
  return exam;
}

async function answer(ctx: Context, write: () => Promise<Exam | undefined>): Promise<void> {
  try {
    const exam = await write();
    ctx.body = exam === undefined ? {} : dispatchView(exam);
  } catch (error) {
    if (error instanceof ExamError && error.code === 'invalid')
      throw new HttpError(400, error.message, { path: error.field, code: 'invalid', cause: error });
    if (error instanceof ExamError && error.code === 'not-found')
      throw new HttpError(404, error.message, { code: 'not-found', cause: error });
    throw error;
  }
}

function dispatchView(exam: Exam) {
  return {
    examNumber: exam.examNumber,
    facility: exam.facility,
    priority: exam.priority,
    status: exam.status,
    technicianId: exam.technicianId ?? null,
    acknowledgedAt: exam.acknowledgedAt ?? null,
    escalations: exam.escalations ?? 0,
  };
}

export function createDispatchRouter(exams: ExamService, auth: Middleware): Router {
  const router = new Router({ prefix: '/api/exams' });
  router.use(auth);

  router.post('/:examNumber/assign', requireRole('admin', 'client-admin', 'analyst'), async (ctx) => {
    const exam = await examFor(ctx, exams);
    const body = expectObject(await readJson(ctx, bodyLimit), '');
    expectKeys(body, '', ['technicianId']);
    const technicianId = expectString(body['technicianId'], 'technicianId');
    await answer(ctx, () => exams.dispatch.assignTechnician(exam.examNumber, technicianId, sourceOf(ctx)));
  });

  router.post('/:examNumber/acknowledge', requireRole('admin', 'client-admin', 'technician'), async (ctx) => {
    const exam = await examFor(ctx, exams);
    const raw = ctx.request.length ? await readJson(ctx, bodyLimit) : {};
    const body = expectObject(raw, '');
    expectKeys(body, '', ['technicianId']);
    const technicianId = optionalString(body['technicianId'], 'technicianId');
    await answer(ctx, async () => {
      await exams.dispatch.acknowledge(exam.examNumber, technicianId, sourceOf(ctx));
      return exams.get(exam.examNumber);
    });
  });

  return router;
}
