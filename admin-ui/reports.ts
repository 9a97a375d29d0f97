// The report API the web app uses under /api: a transcriber drafts and edits, a radiologist signs, amends and
// uploads a scan, and anyone who may see the facility reads the report and its document. Versions travel as
// ETag / If-Match (RFC 9110 13.1.1), so two people editing one draft do not overwrite each other (412). Domain
// refusals become problems with the reason: 422 for input, 409 for a change the state table refuses, 413 for a
// file over reports.maxAttachmentBytes. A radiologist works only on the exams of facilities they read for (403).
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { apiRoles, requireRole, type AuthState, type Role } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import { readForm } from '../http/multipart.ts';
import type { ChangeSource } from '../exams/change.ts';
import { isExamError } from '../exams/errors.ts';
import type { Report } from '../exams/report.ts';
import { AttachmentTooLargeError, defaultMaxAttachmentBytes } from '../exams/report-files.ts';
import type { ReportContent } from '../exams/report-service.ts';
import type { ExamService } from '../exams/service.ts';
import { ValidationError, expectKeys, expectObject } from '../runtime/validate.ts';
import { checkReadsFor } from './reading-access.ts';

const writers: Role[] = ['admin', 'radiologist', 'transcriber'];
const signers: Role[] = ['admin', 'radiologist'];
const jsonLimit = 1024 * 1024;
/** A form carries the file and a few short fields: the file's limit plus this much. */
const formOverhead = 64 * 1024;

const statusOf = {
  invalid: 422,
  'not-found': 404,
  duplicate: 409,
  'transition-refused': 409,
  'version-conflict': 412,
  merged: 410,
};

/** Domain errors as problems: the API's own renderer (http/problem.ts) knows only HttpError. */
export const domainErrors: Middleware = async (_ctx, next) => {
  try {
    await next();
  } catch (error) {
    if (error instanceof AttachmentTooLargeError)
      throw new HttpError(413, error.message, { code: 'too-costly', path: 'file', cause: error });
    if (!isExamError(error)) throw error;
    throw new HttpError(statusOf[error.code], error.message, { code: error.code, path: error.field, cause: error });
  }
};

function userOf(ctx: Context) {
  return (ctx.state as AuthState).user;
}

function sourceOf(ctx: Context): ChangeSource {
  return { actor: userOf(ctx).name, via: 'admin-ui' };
}

/** `"3"` or `W/"3"`; absent: the change is not pinned. */
function ifMatch(ctx: Context): { expectedVersion?: number } {
  const header = ctx.get('if-match');
  if (header === '') return {};
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match)
    throw new HttpError(400, `If-Match: expected "<version>", got ${header}`, { code: 'invalid', path: 'If-Match' });
  return { expectedVersion: Number(match[1]) };
}

function answer(ctx: Context, report: Report, status = 200): void {
  const shown: Partial<Report> = { ...report };
  delete shown.outbox;
  delete shown.pendingExam;
  ctx.status = status;
  ctx.set('ETag', `"${report.version}"`);
  ctx.body = shown;
}

async function content(ctx: Context, allowed: string[]): Promise<Record<string, unknown>> {
  const body = expectObject(await readJson(ctx, jsonLimit), '');
  expectKeys(body, '', allowed);
  for (const key of ['findings', 'impression', 'author', 'transcriber', 'reason'])
    if (body[key] !== undefined && body[key] !== null && typeof body[key] !== 'string')
      throw new ValidationError(key, 'expected text or null');
  return body;
}

function reportContent(body: Record<string, unknown>): ReportContent {
  const result: ReportContent = {};
  for (const key of ['findings', 'impression', 'author', 'transcriber'] as const)
    if (body[key] !== undefined) result[key] = body[key] as string | null;
  return result;
}

export function createReportRouter(exams: ExamService, auth: Middleware): Router {
  const router = new Router({ prefix: '/api' });
  router.use(auth, requireRole(...apiRoles), domainErrors);
  const reports = exams.reports;

  /** The report, 404 when the token may not see its facility (as if it did not exist). */
  const visible = async (ctx: Context): Promise<Report> => {
    const report = await reports.get(ctx.params['id']!);
    const allowed = userOf(ctx).facilities;
    if (!report || (allowed !== undefined && !allowed.includes(report.facility)))
      throw new HttpError(404, `report '${ctx.params['id']}' not found`, { code: 'not-found' });
    await checkReadsFor(ctx, exams, report);
    return report;
  };

  /** A radiologist signs as themself (the token's name is their radiologist id); an admin names the author. */
  const author = (ctx: Context, named: unknown): string => {
    const user = userOf(ctx);
    if (user.roles.includes('admin')) return typeof named === 'string' ? named : user.name;
    if (named !== undefined && named !== user.name)
      throw new HttpError(403, `a radiologist signs only as themself (${user.name})`, {
        code: 'forbidden',
        path: 'author',
      });
    return user.name;
  };

  router.get('/exams/:examNumber/reports', async (ctx) => {
    const exam = await exams.get(ctx.params['examNumber']!);
    const allowed = userOf(ctx).facilities;
    if (!exam || (allowed !== undefined && !allowed.includes(exam.facility)))
      throw new HttpError(404, `exam '${ctx.params['examNumber']}' not found`, { code: 'not-found' });
    ctx.body = await reports.listByExam(exam.examNumber);
  });

  router.post('/exams/:examNumber/reports', requireRole(...writers), async (ctx) => {
    const examNumber = ctx.params['examNumber']!;
    const exam = await exams.get(examNumber);
    const allowed = userOf(ctx).facilities;
    if (exam && allowed !== undefined && !allowed.includes(exam.facility))
      throw new HttpError(403, `this token may not report for facility '${exam.facility}'`, { code: 'forbidden' });
    if (exam) await checkReadsFor(ctx, exams, exam);
    const body = await content(ctx, ['findings', 'impression', 'transcriber', 'author']);
    const input = reportContent(body);
    if (userOf(ctx).roles.includes('transcriber') && input.transcriber === undefined)
      input.transcriber = userOf(ctx).name;
    answer(ctx, await reports.create({ examNumber, ...input }, sourceOf(ctx)), 201);
  });

  router.get('/reports/:id', async (ctx) => {
    answer(ctx, await visible(ctx));
  });

  router.patch('/reports/:id', requireRole(...writers), async (ctx) => {
    const report = await visible(ctx);
    const body = await content(ctx, ['findings', 'impression', 'transcriber', 'author']);
    answer(ctx, await reports.edit(report._id, reportContent(body), sourceOf(ctx), ifMatch(ctx)));
  });

  router.post('/reports/:id/preliminary', requireRole(...signers), async (ctx) => {
    const report = await visible(ctx);
    const body = await content(ctx, ['findings', 'impression', 'author']);
    const input = { ...reportContent(body), author: author(ctx, body['author']) };
    answer(ctx, await reports.preliminary(report._id, input, sourceOf(ctx), ifMatch(ctx)));
  });

  router.post('/reports/:id/sign', requireRole(...signers), async (ctx) => {
    const report = await visible(ctx);
    const body = await content(ctx, ['findings', 'impression', 'author']);
    const input = { ...reportContent(body), author: author(ctx, body['author']) };
    answer(ctx, await reports.sign(report._id, input, sourceOf(ctx), ifMatch(ctx)));
  });

  router.post('/reports/:id/amend', requireRole(...signers), async (ctx) => {
    const report = await visible(ctx);
    const body = await content(ctx, ['findings', 'impression', 'author', 'reason']);
    const input = { ...reportContent(body), author: author(ctx, body['author']) };
    const reason = typeof body['reason'] === 'string' ? body['reason'] : '';
    answer(ctx, await reports.amend(report._id, input, reason, sourceOf(ctx), ifMatch(ctx)));
  });

  router.post('/reports/:id/attachments', requireRole(...writers), async (ctx) => {
    const report = await visible(ctx);
    const limit = reports.files?.maxBytes ?? defaultMaxAttachmentBytes;
    const form = await readForm(ctx, limit + formOverhead);
    const file = form.files.find((f) => f.field === 'file');
    if (file === undefined) throw new ValidationError('file', 'expected the file in the form field "file"');
    const title = form.fields.get('title') ?? file.filename;
    const upload = { bytes: file.bytes, contentType: file.contentType, title };
    answer(ctx, await reports.attach(report._id, upload, sourceOf(ctx), ifMatch(ctx)), 201);
  });

  router.get('/reports/:id/document', async (ctx) => {
    const report = await visible(ctx);
    const name = typeof ctx.query['attachment'] === 'string' ? ctx.query['attachment'] : undefined;
    if (name === undefined && report.documentId === undefined)
      throw new HttpError(404, `report '${report._id}' has no document yet (it gets one when signed)`, {
        code: 'not-found',
      });
    const { attachment, bytes } = await reports.document(report._id, name);
    ctx.set('Content-Disposition', `inline; filename="${attachment.id}"`);
    ctx.set('ETag', `"${attachment.sha256}"`);
    ctx.type = attachment.contentType;
    ctx.body = bytes;
  });

  return router;
}
