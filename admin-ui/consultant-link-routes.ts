// Consultant links under /api (issue 15 item 5): a facility user (customer, client-admin) or a radiologist who
// reads for the facility creates a link for one exam, lists the exam's links and revokes one. The token is in the
// answer to the create and nowhere else (exams/consultant-links.ts keeps its SHA-256). Creating and revoking
// are audited with the exam as target; each use is audited by the page (consultant-page.ts).
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { requireRole, type Role } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import type { ConsultantLink, ConsultantLinks } from '../exams/consultant-links.ts';
import type { ExamService } from '../exams/service.ts';
import { expectKeys, expectObject } from '../runtime/validate.ts';
import type { AuditLog } from './audit.ts';
import { checkReadsFor, examInScope, inScope, userOf } from './reading-access.ts';
import { domainErrors } from './reports.ts';

const sharers: Role[] = ['admin', 'customer', 'client-admin', 'radiologist'];

export interface ConsultantLinkDeps {
  exams: ExamService;
  links: ConsultantLinks;
  audit: AuditLog;
  auth: Middleware;
}

/** A link as the API shows it: never the token's hash. */
export function linkView(link: ConsultantLink, now = Date.now()) {
  const { tokenSha256: _hash, _id, ...rest } = link;
  const state = link.revokedAt ? 'revoked' : Date.parse(link.expiresAt) <= now ? 'expired' : 'open';
  return { id: _id, ...rest, state };
}

export function createConsultantLinkRouter({ exams, links, audit, auth }: ConsultantLinkDeps): Router {
  const router = new Router({ prefix: '/api' });
  router.use(auth, domainErrors, requireRole(...sharers));

  const exam = async (ctx: Context) => {
    const found = await examInScope(ctx, exams, ctx.params['examNumber']!);
    await checkReadsFor(ctx, exams, found);
    return found;
  };

  router.get('/exams/:examNumber/consultant-links', async (ctx) => {
    const found = await exam(ctx);
    ctx.body = (await links.ofExam(found.examNumber)).map((link) => linkView(link));
  });

  router.post('/exams/:examNumber/consultant-links', async (ctx) => {
    const found = await exam(ctx);
    const body = expectObject(await readJson(ctx, 4096), '');
    expectKeys(body, '', ['hours']);
    const user = userOf(ctx).name;
    const { link, token } = await links.create(found, body['hours'], user);
    await audit.record(user, 'consultant-link.create', `exam:${found.examNumber}`, {
      linkId: link._id,
      expiresAt: link.expiresAt,
    });
    ctx.status = 201;
    ctx.body = { ...linkView(link), token, path: `/consult/${token}` };
  });

  router.post('/consultant-links/:id/revoke', async (ctx) => {
    const link = await links.get(ctx.params['id']!);
    if (!link) throw new HttpError(404, `consultant link '${ctx.params['id']}' not found`, { code: 'not-found' });
    if (!inScope(userOf(ctx), link.facility))
      throw new HttpError(403, `this user may not see facility '${link.facility}'`, { code: 'forbidden' });
    const found = await exams.get(link.examNumber);
    if (found) await checkReadsFor(ctx, exams, found);
    const user = userOf(ctx).name;
    const revoked = await links.revoke(link._id, user);
    await audit.record(user, 'consultant-link.revoke', `exam:${link.examNumber}`, { linkId: link._id });
    ctx.body = linkView(revoked);
  });

  return router;
}
