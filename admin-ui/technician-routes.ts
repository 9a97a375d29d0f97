// The technician's work over HTTP: the active list of their facilities, claiming an exam (assign to oneself and
// acknowledge, which stops dispatch escalation), and the exception list's actions: dismiss with a reason, attach
// an unmatched study to its exam, merge the patient the images made into the exam's patient. A technician user's
// user name is their id in the facility's technicians list. Every action is audited.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { requireRole } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import type { ExamSummary } from '../exams/lists.ts';
import type { ExamService } from '../exams/service.ts';
import { ValidationError, expectKeys, expectObject, expectString, type Plain } from '../runtime/validate.ts';
import type { AuditLog } from './audit.ts';
import { checkFacility, examErrors, examView, scopedExam, workSource, workUser } from './work-scope.ts';

const technicianRoles = requireRole('admin', 'client-admin', 'technician');
const bodyLimit = 16 * 1024;

export interface TechnicianRouterOptions {
  exams: ExamService;
  auth: Middleware;
  audit: AuditLog;
  /** Tells the study index which exam a study moved to (composition wires dicom/study-index.ts). */
  studyMoved?: (studyInstanceUid: string, examNumber: string) => Promise<void>;
}

async function body(ctx: Context, keys: string[]): Promise<Plain> {
  const raw = expectObject(await readJson(ctx, bodyLimit), '');
  expectKeys(raw, '', keys);
  return raw;
}

/** The facilities whose active list the caller sees: their own, or all where they are a technician. */
async function facilitiesOf(ctx: Context, exams: ExamService): Promise<string[]> {
  const user = workUser(ctx);
  if (user.facilities !== undefined) return [...user.facilities];
  const all = await exams.facilities.list();
  if (!user.roles.includes('technician')) return all.filter((f) => f.active).map((f) => f.code);
  return all.filter((f) => f.active && f.technicians.some((t) => t.id === user.name)).map((f) => f.code);
}

async function activeList(ctx: Context, exams: ExamService): Promise<ExamSummary[]> {
  const codes = await facilitiesOf(ctx, exams);
  const lists = await Promise.all(codes.map((code) => exams.lists.facilityActive(code, { limit: 200 })));
  return lists
    .flat()
    .sort((a, b) => a.priorityRank - b.priorityRank || a.createdAt.localeCompare(b.createdAt))
    .slice(0, 200);
}

export function createTechnicianRouter({ exams, auth, audit, studyMoved }: TechnicianRouterOptions): Router {
  const router = new Router({ prefix: '/api' });
  router.use(auth);

  router.get('/technician/active', technicianRoles, async (ctx) => {
    ctx.body = await activeList(ctx, exams);
  });

  router.post('/exams/:examNumber/claim', requireRole('technician'), examErrors, async (ctx) => {
    const exam = await scopedExam(ctx, exams, ctx.params['examNumber']!);
    const me = workUser(ctx).name;
    const by = workSource(ctx);
    if (exam.technicianId !== me) await exams.dispatch.assignTechnician(exam.examNumber, me, by);
    await exams.dispatch.acknowledge(exam.examNumber, me, by);
    await audit.record(me, 'exam.claim', `exam:${exam.examNumber}`, { technicianId: me });
    ctx.body = examView(await exams.require(exam.examNumber));
  });

  router.post('/exceptions/:examNumber/dismiss', technicianRoles, examErrors, async (ctx) => {
    const exam = await scopedExam(ctx, exams, ctx.params['examNumber']!);
    const reason = expectString((await body(ctx, ['reason']))['reason'], 'reason');
    const after = await exams.exceptions.dismiss(exam.examNumber, reason, workSource(ctx));
    await audit.record(workUser(ctx).name, 'exception.dismiss', `exam:${exam.examNumber}`, {
      reason,
      status: after.status,
    });
    ctx.body = examView(after);
  });

  router.post('/exceptions/:examNumber/attach', technicianRoles, examErrors, async (ctx) => {
    const exam = await scopedExam(ctx, exams, ctx.params['examNumber']!);
    const targetNumber = expectString((await body(ctx, ['examNumber']))['examNumber'], 'examNumber').trim();
    const target = await scopedExam(ctx, exams, targetNumber);
    const moved = await exams.exceptions.attachStudies(exam.examNumber, target.examNumber, workSource(ctx));
    for (const uid of moved.studyInstanceUids) await studyMoved?.(uid, target.examNumber);
    await audit.record(workUser(ctx).name, 'exception.attach', `exam:${exam.examNumber}`, {
      to: target.examNumber,
      studies: moved.studyInstanceUids.join(','),
    });
    ctx.body = { from: examView(moved.from), to: examView(moved.to) };
  });

  // The patient the unmatched images made is the same person as the exam's patient (ADT^A40's merge).
  router.post('/exceptions/:examNumber/merge', technicianRoles, examErrors, async (ctx) => {
    const exam = await scopedExam(ctx, exams, ctx.params['examNumber']!);
    const targetNumber = expectString((await body(ctx, ['examNumber']))['examNumber'], 'examNumber').trim();
    const target = await scopedExam(ctx, exams, targetNumber);
    checkFacility(ctx, target.facility);
    if (target.facility !== exam.facility)
      throw new ValidationError('examNumber', `exam ${target.examNumber} belongs to another facility`);
    if (target.patientId === exam.patientId)
      throw new HttpError(409, 'both exams already belong to the same patient', {
        code: 'conflict',
        path: 'examNumber',
      });
    const merged = await exams.mergePatients(exam.patientId, target.patientId, workSource(ctx));
    await audit.record(workUser(ctx).name, 'exception.merge-patient', `exam:${exam.examNumber}`, {
      from: merged.from._id,
      into: merged.into._id,
      movedExams: merged.movedExams.join(','),
    });
    ctx.body = examView(await exams.require(exam.examNumber));
  });

  return router;
}
