// GET /links/reports/<token>: the report a facility was e-mailed a link to, served without an account because the
// token itself is the permission (report-links.ts). A token whose signature does not hold is 403, an expired one
// 410 (RFC 9110 15.5.11: it was here and is gone for good), and every use, good or bad, is in the audit trail with
// the report's id and never its content. The PDF is not cached anywhere on the way: the link outlives no one's cache.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { AuditLog } from '../admin-ui/audit.ts';
import type { ExamService } from '../exams/service.ts';
import type { Logger } from '../runtime/log.ts';
import { errorText } from '../runtime/log.ts';
import { loadReportDocument } from './report-document.ts';
import type { ReportLinks } from './report-links.ts';

export interface ReportLinkDeps {
  exams: ExamService;
  links: ReportLinks;
  audit: Pick<AuditLog, 'record'>;
  log: Logger;
}

/** Who opened a link is not known; the audit trail names the way in instead. */
const linkUser = 'report-link';

function refuse(ctx: Context, status: number, text: string): void {
  ctx.status = status;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `${text}\n`;
}

export function createReportLinkRouter(deps: ReportLinkDeps): Router {
  const router = new Router();
  router.get('/links/reports/:token', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    const check = await deps.links.check(ctx.params['token'] ?? '');
    const remote = ctx.ip;
    if (check.status === 'bad-signature') {
      await deps.audit.record(linkUser, 'report.link.refused', 'report:unknown', { reason: 'bad signature', remote });
      refuse(ctx, 403, 'This link is not valid.');
      return;
    }
    const target = `report:${check.reportId}`;
    if (check.status === 'expired') {
      const expiredAt = check.expiresAt.toISOString();
      await deps.audit.record(linkUser, 'report.link.refused', target, { reason: 'expired', expiredAt, remote });
      refuse(ctx, 410, `This link expired at ${expiredAt}. Ask the radiology service for the report again.`);
      return;
    }
    let document: Awaited<ReturnType<typeof loadReportDocument>>;
    try {
      document = await loadReportDocument(deps.exams, check.reportId);
    } catch (error) {
      deps.log.warn('a report link names a report that cannot be read', { target, error: errorText(error) });
      await deps.audit.record(linkUser, 'report.link.refused', target, { reason: 'not readable', remote });
      refuse(ctx, 404, 'The report of this link cannot be found.');
      return;
    }
    await deps.audit.record(linkUser, 'report.link.open', target, { state: document.report.state, remote });
    const name = `report-${document.report.examNumber}.pdf`.replace(/[^A-Za-z0-9._-]/g, '_');
    ctx.type = document.attachment.contentType;
    ctx.set('Content-Disposition', `inline; filename="${name}"`);
    ctx.body = document.bytes;
  });
  return router;
}
