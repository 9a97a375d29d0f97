// The console's queues (/api/queues): every destination's depth, oldest message, head attempts and state, the
// messages waiting in one, and per message retry-now and give-up (with a reason, audited). Pause and resume of a
// destination are in admin-ui/api.ts (/api/channels/:id/destinations/:destination/pause|resume).
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import type { ChannelEngine } from '../channels/engine.ts';
import { giveUp, QueueActionError, queuedMessages, queueOverviews, retryNow } from '../channels/queue-admin.ts';
import { ValidationError, expectKeys, expectObject, expectString } from '../runtime/validate.ts';
import type { AuditLog } from './audit.ts';
import { actorOf, staffReaders, staffWriters } from './staff.ts';

function answer(error: unknown): never {
  if (error instanceof QueueActionError)
    throw new HttpError(error.kind === 'missing' ? 404 : 409, error.message, {
      code: error.kind === 'missing' ? 'not-found' : 'conflict',
    });
  throw error;
}

export function createQueueRouter(engine: ChannelEngine, audit: AuditLog, auth: Middleware): Router {
  const router = new Router({ prefix: '/api/queues' });
  router.use(auth);

  router.get('/', staffReaders, async (ctx) => {
    ctx.body = await queueOverviews(engine);
  });

  router.get('/:channelId/:destination/messages', staffReaders, async (ctx) => {
    const { channelId, destination } = ctx.params as { channelId: string; destination: string };
    const limitText = typeof ctx.query['limit'] === 'string' ? ctx.query['limit'] : '100';
    if (!/^\d+$/.test(limitText) || +limitText < 1 || +limitText > 500)
      throw new ValidationError('limit', 'expected a whole number from 1 to 500');
    ctx.body = await queuedMessages(engine, channelId, destination, Number(limitText));
  });

  router.post('/:channelId/:destination/messages/:messageId/retry', staffWriters, async (ctx) => {
    const { channelId, destination, messageId } = ctx.params as Record<string, string>;
    await retryNow(engine, channelId!, destination!, messageId!).catch(answer);
    await audit.record(actorOf(ctx), 'queue.retry', `message:${messageId}`, {
      channel: channelId!,
      destination: destination!,
    });
    ctx.status = 202;
    ctx.body = { retrying: true };
  });

  router.post('/:channelId/:destination/messages/:messageId/give-up', staffWriters, async (ctx) => {
    const { channelId, destination, messageId } = ctx.params as Record<string, string>;
    const body = expectObject(await readJson(ctx, 16 * 1024), '');
    expectKeys(body, '', ['reason']);
    const reason = expectString(body['reason'], 'reason').trim();
    if (reason === '') throw new ValidationError('reason', 'expected why the delivery is given up');
    const { attempts } = await giveUp(engine, channelId!, destination!, messageId!, reason).catch(answer);
    await audit.record(actorOf(ctx), 'queue.give-up', `message:${messageId}`, {
      channel: channelId!,
      destination: destination!,
      reason,
      attempts,
    });
    ctx.body = { givenUp: true, attempts };
  });

  return router;
}
