// The error answer of the JSON APIs (/api, /dicomweb, /metrics, /health): RFC 9457 problem details, rendered here
// once from the HttpError a route throws (http/http-error.ts). /fhir/R4 renders the same errors as
// OperationOutcomes (fhir/outcome.ts). Members: type (about:blank: the status says it all, RFC 9457 4.2.1),
// title, status, detail; and as extensions the `path` of the offending field, `issues` when there are several, and
// for the web console `error` (the detail again) with the machine-readable `code` (`csrf`, `login`, ...).
import type { Context, Middleware } from 'koa';
import type { Logger } from '../runtime/log.ts';
import { generalText, knownHttpError, logUnexposed, statusTitle, type HttpError } from './http-error.ts';

export const problemJson = 'application/problem+json';

export function problemBody(error: HttpError): Record<string, unknown> {
  const body: Record<string, unknown> = { type: 'about:blank', title: statusTitle(error.status), status: error.status };
  if (!error.expose) return { ...body, detail: generalText, error: generalText };
  body['detail'] = error.message;
  body['error'] = error.message;
  if (error.code !== undefined) body['code'] = error.code;
  if (error.path !== undefined) body['path'] = error.path;
  if (error.issues.length > 1) body['issues'] = error.issues;
  return body;
}

export function problemResponses(log: Logger): Middleware {
  return async (ctx: Context, next) => {
    try {
      await next();
    } catch (error) {
      const known = knownHttpError(error);
      const status = known?.status ?? 500;
      if (!known?.expose) logUnexposed(log, ctx, status, error);
      for (const [name, value] of Object.entries(known?.headers ?? {})) ctx.set(name, value);
      ctx.status = status;
      ctx.type = problemJson;
      const body = known
        ? problemBody(known)
        : { type: 'about:blank', title: statusTitle(500), status, detail: generalText, error: generalText };
      ctx.body = JSON.stringify(body);
    }
  };
}
