// The console's channel editor beyond save and deploy (admin-ui/api.ts): create, clone, delete, one revision,
// revert, and the dry run ("test a channel"). Each change is audited with the definition before and after.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import {
  ChannelConflict,
  cloneChannel,
  createChannel,
  deleteChannel,
  revertChannel,
} from '../channels/channel-admin.ts';
import { dryRun, sniffDataType } from '../channels/dry-run.ts';
import type { ChannelEngine } from '../channels/engine.ts';
import { ValidationError, expectInteger, expectKeys, expectObject, expectString } from '../runtime/validate.ts';
import type { AuditLog } from './audit.ts';
import { actorOf, staffReaders, staffWriters } from './staff.ts';

const bodyLimit = 1024 * 1024;

function conflictAnswer(error: unknown): never {
  if (error instanceof ChannelConflict) {
    const status = error.kind === 'missing' ? 404 : 409;
    throw new HttpError(status, error.message, { code: error.kind === 'missing' ? 'not-found' : 'conflict' });
  }
  throw error;
}

function revisionNumber(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text)) throw new ValidationError('revision', 'expected a revision number');
  return Number(text);
}

export function createChannelRouter(engine: ChannelEngine, audit: AuditLog, auth: Middleware): Router {
  const router = new Router({ prefix: '/api/channels' });

  router.post('/', auth, staffWriters, async (ctx) => {
    const input = await readJson(ctx, bodyLimit);
    const saved = await createChannel(engine, input, actorOf(ctx)).catch(conflictAnswer);
    const id = saved.definition.id;
    await audit.record(
      actorOf(ctx),
      'channel.create',
      `channel:${id}`,
      { revision: saved.revision },
      {
        before: null,
        after: saved.definition,
      },
    );
    ctx.status = 201;
    ctx.body = { id, revision: saved.revision, status: 'undeployed' };
  });

  router.post('/test', auth, staffWriters, async (ctx) => {
    const body = expectObject(await readJson(ctx, bodyLimit), '');
    expectKeys(body, '', ['channelId', 'channel', 'message', 'dataType']);
    const raw = expectString(body['message'], 'message');
    let definition = body['channel'] === undefined ? undefined : engine.definitions.parse(body['channel']);
    if (!definition) {
      const id = expectString(body['channelId'], 'channelId');
      definition = (await engine.definitions.active(id))?.definition;
      if (!definition) throw new HttpError(404, `channel '${id}' not found`, { code: 'not-found' });
    }
    const dataType =
      body['dataType'] === undefined ? sniffDataType(raw, engine.registry) : expectString(body['dataType'], 'dataType');
    if (!engine.registry.dataType(dataType))
      throw new ValidationError('dataType', `expected one of: ${engine.registry.dataTypes().join(', ')}`);
    // A message pasted into a browser has line feeds where HL7 v2 has carriage returns (ch. 2.5.1).
    const text = dataType === 'hl7v2' ? raw.replace(/\r?\n/g, '\r') : raw;
    ctx.body = dryRun(definition, engine.registry, { raw: text, dataType });
  });

  router.post('/:id/clone', auth, staffWriters, async (ctx) => {
    const body = expectObject(await readJson(ctx, bodyLimit), '');
    expectKeys(body, '', ['id', 'name']);
    const target = {
      id: expectString(body['id'], 'id'),
      ...(body['name'] === undefined ? {} : { name: expectString(body['name'], 'name') }),
    };
    const saved = await cloneChannel(engine, ctx.params['id']!, target, actorOf(ctx)).catch(conflictAnswer);
    await audit.record(
      actorOf(ctx),
      'channel.clone',
      `channel:${target.id}`,
      { from: ctx.params['id']! },
      { before: null, after: saved.definition },
    );
    ctx.status = 201;
    ctx.body = { id: target.id, revision: saved.revision, status: 'undeployed' };
  });

  router.delete('/:id', auth, staffWriters, async (ctx) => {
    const id = ctx.params['id']!;
    const removed = await deleteChannel(engine, id).catch(conflictAnswer);
    await audit.record(actorOf(ctx), 'channel.delete', `channel:${id}`, undefined, {
      before: removed.definition,
      after: null,
    });
    ctx.status = 204;
  });

  router.get('/:id/revisions/:revision', auth, staffReaders, async (ctx) => {
    const id = ctx.params['id']!;
    const revision = revisionNumber(ctx.params['revision']);
    const stored = await engine.definitions.revision(id, revision);
    if (!stored) throw new HttpError(404, `channel '${id}' has no revision ${revision}`, { code: 'not-found' });
    ctx.body = stored;
  });

  router.post('/:id/revert', auth, staffWriters, async (ctx) => {
    const id = ctx.params['id']!;
    const body = expectObject(await readJson(ctx, bodyLimit), '');
    expectKeys(body, '', ['revision']);
    const revision = expectInteger(body['revision'], 'revision', 1);
    const { before, after } = await revertChannel(engine, id, revision, actorOf(ctx)).catch(conflictAnswer);
    await audit.record(
      actorOf(ctx),
      'channel.revert',
      `channel:${id}`,
      { to: revision, revision: after.revision },
      { before: before.definition, after: after.definition },
    );
    ctx.body = { id, revision: after.revision, revertedTo: revision, status: engine.channelStatus(id) ?? null };
  });

  return router;
}
