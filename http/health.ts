// /health is the one unauthenticated route: load balancers and process managers poll it. It reports which
// parts are up, never data; 503 when a part the hub cannot work without is down.
import Router from '@koa/router';
import { errorText } from '../runtime/log.ts';

export interface HealthCheck {
  name: string;
  /** A failed essential check makes the whole hub unhealthy. */
  essential: boolean;
  check(): Promise<Record<string, string | number | boolean>>;
}

export function createHealthRouter(checks: readonly HealthCheck[], startedAt = Date.now()): Router {
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
    ctx.body = { status: healthy ? 'ok' : 'unavailable', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), ...parts };
  });
  return router;
}
