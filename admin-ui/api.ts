// The admin REST API under /api: what an integration analyst does in Mirth's administrator – channels and their
// revisions, deployment, queues, the message browser, reprocess and resend – over the engine's typed functions.
// Reading needs one of the staff roles; changing needs admin or analyst; every change is audited. Errors are
// thrown (HttpError, ValidationError) and answered as RFC 9457 problems by http/problem.ts.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { AuthState } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import type { ChannelEngine } from '../channels/engine.ts';
import { ValidationError } from '../runtime/validate.ts';
import type { AuditLog } from './audit.ts';
import { staffReaders, staffWriters } from './staff.ts';
import { undeployedChannels } from '../channels/channel-admin.ts';

export interface AdminApiOptions {
  engine: ChannelEngine;
  audit: AuditLog;
  auth: Middleware;
}

const readers = staffReaders;
const writers = staffWriters;
const bodyLimit = 1024 * 1024;

function userOf(ctx: Context): string {
  return (ctx.state as AuthState).user.name;
}

export function createAdminApiRouter({ engine, audit, auth }: AdminApiOptions): Router {
  const router = new Router({ prefix: '/api' });
  router.use(auth);

  router.get('/channels', readers, async (ctx) => {
    ctx.body = [...(await engine.listChannels()), ...(await undeployedChannels(engine))];
  });

  router.get('/channels/:id', readers, async (ctx) => {
    const stored = await engine.definitions.active(ctx.params['id']!);
    if (!stored) throw new HttpError(404, `channel '${ctx.params['id']}' not found`);
    ctx.body = { ...stored, status: engine.channelStatus(stored.definition.id) ?? null };
  });

  router.get('/channels/:id/revisions', readers, async (ctx) => {
    ctx.body = await engine.definitions.revisions(ctx.params['id']!);
  });

  router.put('/channels/:id', writers, async (ctx) => {
    const input = await readJson(ctx, bodyLimit);
    const id = ctx.params['id']!;
    if (typeof input !== 'object' || input === null || (input as { id?: unknown }).id !== id) {
      throw new ValidationError('id', `expected '${id}', the channel id in the URL`);
    }
    const before = await engine.definitions.active(id);
    const saved = await engine.saveDefinition(input, userOf(ctx));
    const after = await engine.definitions.active(id);
    await audit.record(
      userOf(ctx),
      'channel.save',
      `channel:${id}`,
      { revision: saved.revision },
      { before: before?.definition ?? null, after: after?.definition ?? null },
    );
    ctx.body = saved;
  });

  router.post('/channels/:id/deploy', writers, async (ctx) => {
    const id = ctx.params['id']!;
    if (!(await engine.definitions.active(id))) throw new HttpError(404, `channel '${id}' not found`);
    ctx.body = await engine.redeploy(id);
    await audit.record(userOf(ctx), 'channel.deploy', `channel:${id}`);
  });

  router.post('/channels/:id/undeploy', writers, async (ctx) => {
    const id = ctx.params['id']!;
    if (!engine.channelStatus(id)) throw new HttpError(404, `channel '${id}' is not deployed`);
    await engine.undeploy(id);
    await audit.record(userOf(ctx), 'channel.undeploy', `channel:${id}`);
    ctx.status = 204;
  });

  router.get('/channels/:id/queues', readers, async (ctx) => {
    const id = ctx.params['id']!;
    if (!engine.channelStatus(id)) throw new HttpError(404, `channel '${id}' is not deployed`);
    ctx.body = await engine.queueDepths(id);
  });

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/channels/:id/destinations/:destination/${action}`, writers, async (ctx) => {
      const { id, destination } = ctx.params as { id: string; destination: string };
      const status = engine.channelStatus(id);
      const known = status && (await engine.queueDepths(id)).some((q) => q.destination === destination);
      if (!known) throw new HttpError(404, `channel '${id}' has no deployed destination '${destination}'`);
      if (action === 'pause') await engine.pauseDestination(id, destination);
      else await engine.resumeDestination(id, destination);
      await audit.record(userOf(ctx), `destination.${action}`, `channel:${id}`, { destination });
      ctx.body = await engine.queueDepths(id);
    });
  }

  router.post('/messages/:id/reprocess', writers, async (ctx) => {
    const id = ctx.params['id']!;
    const message = await engine.getMessage(id);
    if (!message) throw new HttpError(404, `message '${id}' not found`);
    if (!engine.channelStatus(message.channelId))
      throw new HttpError(409, `channel '${message.channelId}' is not deployed`);
    const outcome = await engine.reprocess(id);
    await audit.record(userOf(ctx), 'message.reprocess', `message:${id}`, { outcome: outcome.status });
    ctx.body = outcome;
  });

  router.post('/messages/:id/resend', writers, async (ctx) => {
    const id = ctx.params['id']!;
    const input = await readJson(ctx, bodyLimit);
    const { destination, all } = input as { destination?: unknown; all?: unknown };
    if (typeof destination !== 'string' || destination === '')
      throw new ValidationError('destination', "expected the name of one of the message's destinations");
    if (all !== undefined && typeof all !== 'boolean') {
      throw new ValidationError('all', 'expected true (send all of it again) or false');
    }
    const message = await engine.getMessage(id);
    if (!message) throw new HttpError(404, `message '${id}' not found`);
    const record = message.destinations.find((d) => d.name === destination);
    if (!record) throw new HttpError(404, `message '${id}' has no destination '${destination}'`);
    if (record.content === undefined)
      throw new HttpError(409, `message '${id}' has no content for '${destination}' (it was ${record.state})`);
    await engine.resend(id, destination, { all: all === true });
    await audit.record(userOf(ctx), 'message.resend', `message:${id}`, { destination, all: all === true });
    ctx.status = 202;
    ctx.body = { queued: true };
  });

  return router;
}
