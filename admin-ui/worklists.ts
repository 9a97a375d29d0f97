// The RSO work lists over HTTP: what a facility is waiting for, what it got back (with each exam's report state),
// what a technician has to do, what a radiologist has to read, and the exception list. A token limited to some facilities sees only theirs.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { apiRoles, requireRole, type AuthState } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { ExamService } from '../exams/service.ts';
import type { ListOptions } from '../exams/lists.ts';
import { reportDeliveriesOf, type OrderMessages } from './report-deliveries.ts';

function listOptions(ctx: Context): ListOptions {
  const options: ListOptions = {};
  for (const key of ['skip', 'limit'] as const) {
    const value = ctx.query[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !/^\d+$/.test(value) || (key === 'limit' && Number(value) > 500)) {
      throw new HttpError(400, key === 'limit' ? 'expected a whole number up to 500' : 'expected a whole number', {
        code: 'invalid',
        path: key,
      });
    }
    options[key] = Number(value);
  }
  return options;
}

function checkMaySee(ctx: Context, facility: string): void {
  const allowed = (ctx.state as AuthState).user.facilities;
  if (allowed === undefined || allowed.includes(facility)) return;
  throw new HttpError(403, `this token may not see facility '${facility}'`, { code: 'forbidden' });
}

/** `messages` reads the report channels' deliveries for the completed list; without it the list has none. */
export function createWorklistRouter(exams: ExamService, auth: Middleware, messages?: OrderMessages): Router {
  const router = new Router({ prefix: '/api' });
  router.use(auth, requireRole(...apiRoles));

  router.get('/facilities/:code/active', async (ctx) => {
    const code = ctx.params['code']!;
    const options = listOptions(ctx);
    checkMaySee(ctx, code);
    ctx.body = await exams.lists.facilityActive(code, options);
  });

  router.get('/facilities/:code/completed', async (ctx) => {
    const code = ctx.params['code']!;
    const options = listOptions(ctx);
    checkMaySee(ctx, code);
    const completed = await exams.lists.facilityCompleted(code, options);
    const deliveries =
      messages === undefined
        ? undefined
        : await reportDeliveriesOf(
            messages,
            completed.map((exam) => exam.examNumber),
          );
    ctx.body = completed.map((exam) => ({ ...exam, reportDeliveries: deliveries?.get(exam.examNumber) ?? [] }));
  });

  router.get('/technicians/:id/active', async (ctx) => {
    const options = listOptions(ctx);
    const all = await exams.lists.technicianActive(ctx.params['id']!, options);
    const allowed = (ctx.state as AuthState).user.facilities;
    ctx.body = allowed === undefined ? all : all.filter((exam) => allowed.includes(exam.facility));
  });

  // Exams ready to read (a complete study, no final report) at the facilities the radiologist reads for.
  router.get('/radiologists/:id/reading-list', async (ctx) => {
    const options = listOptions(ctx);
    const allowed = (ctx.state as AuthState).user.facilities;
    ctx.body = await exams.lists.readingList(ctx.params['id']!, {
      ...options,
      ...(allowed === undefined ? {} : { facilities: allowed }),
    });
  });

  router.get('/exceptions', async (ctx) => {
    const options = listOptions(ctx);
    const facility = typeof ctx.query['facility'] === 'string' ? ctx.query['facility'] : undefined;
    if (facility !== undefined) checkMaySee(ctx, facility);
    const all = await exams.lists.exceptions(facility, options);
    const allowed = (ctx.state as AuthState).user.facilities;
    ctx.body = allowed === undefined ? all : all.filter((exam) => allowed.includes(exam.facility));
  });

  return router;
}
