// The billing view over HTTP: per facility and month the completed exams priced by the facility's billing rules
// (exams/billing.ts), as JSON for the table and as CSV for a spreadsheet. Client admins see their facilities,
// the RSO's admins every one.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { requireRole } from '../http/auth.ts';
import { billingCsv, billingStatement } from '../exams/billing.ts';
import type { ExamService } from '../exams/service.ts';
import type { HubDb } from '../store/db.ts';
import { ValidationError } from '../runtime/validate.ts';
import { checkFacility, examErrors } from './work-scope.ts';

const billingRoles = requireRole('admin', 'client-admin');

export function createBillingRouter(exams: ExamService, db: HubDb, auth: Middleware): Router {
  const router = new Router({ prefix: '/api' });
  router.use(auth);

  router.get('/facilities/:code/billing', billingRoles, examErrors, async (ctx) => {
    const code = ctx.params['code']!;
    checkFacility(ctx, code);
    const month = ctx.query['month'];
    if (typeof month !== 'string') throw new ValidationError('month', 'expected ?month=YYYY-MM');
    const statement = await billingStatement(db, await exams.facilities.require(code), month);
    if (ctx.query['format'] === 'csv') {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', `attachment; filename="billing-${code}-${month}.csv"`);
      ctx.body = billingCsv(statement);
      return;
    }
    ctx.body = statement;
  });

  return router;
}
