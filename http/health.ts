// /health is the one unauthenticated route: load balancers and process managers poll it. To them it says only up
// (200) or down (503, a part the hub cannot work without is down); which parts are up, with their ports and
// counts, is shown to a token that may monitor the hub (http/auth.ts mayMonitor). Never data.
import Router from '@koa/router';
import { mayMonitor, userOf, type TokenAuthenticator } from './auth.ts';
import { errorText } from '../runtime/log.ts';

export interface HealthCheck {
  name: string;
  /** A failed essential check makes the whole hub unhealthy. */
  essential: boolean;
  check(): Promise<Record<string, string | number | boolean>>;
}

export function createHealthRouter(
  checks: readonly HealthCheck[],
  auth: TokenAuthenticator,
  startedAt = Date.now(),
): Router {
  const router = new Router();
  router.get('/health', async (ctx) => {
    const parts: Record<string, unknown> = {};
    let healthy = true;
    for (const check of checks) {
      try {
        const result = await check.check();
        parts[check.name] = result;
        if (check.essential && result['ok'] === false) healthy = false;
      } catch (error) {
        parts[check.name] = { ok: false, error: errorText(error) };
        if (check.essential) healthy = false;
      }
    }
    ctx.status = healthy ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    const status = healthy ? 'ok' : 'unavailable';
    // A wrong token is not refused here: a load balancer's probe must not turn a healthy hub into a 401.
    const uptimeSeconds = Math.round((Date.now() - startedAt) / 1000);
    ctx.body = mayMonitor(userOf(auth, ctx)) ? { status, uptimeSeconds, ...parts } : { status };
  });
  return router;
}
