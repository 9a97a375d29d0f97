// What the console does to channels beyond saving a revision (engine.saveDefinition): create one undeployed,
// clone one under a new id, delete one that is not deployed and has nothing queued, revert to an earlier revision
// (saved again as the newest, so the history only grows), and list the stored channels the engine does not run.
// Plain functions over the engine, kept beside it so engine.ts stays the deployment's own file.
import { ValidationError } from '../runtime/validate.ts';
import type { ChannelEngine, ChannelOverview } from './engine.ts';
import type { StoredDefinition } from './definition-store.ts';

/** Why an operation cannot be done now; the API answers it as 409 (or 404 for `missing`). */
export class ChannelConflict extends Error {
  readonly kind: 'exists' | 'missing' | 'deployed' | 'queued';
  constructor(kind: ChannelConflict['kind'], message: string) {
    super(message);
    this.name = 'ChannelConflict';
    this.kind = kind;
  }
}

function idOf(input: unknown): string {
  const id = typeof input === 'object' && input !== null ? (input as { id?: unknown }).id : undefined;
  if (typeof id !== 'string' || id === '') throw new ValidationError('id', 'expected the channel id');
  return id;
}

/** Saves a new channel's first revision without deploying it. */
export async function createChannel(engine: ChannelEngine, input: unknown, author: string): Promise<StoredDefinition> {
  const id = idOf(input);
  engine.definitions.parse(input);
  if (await engine.definitions.active(id)) throw new ChannelConflict('exists', `channel '${id}' exists`);
  return engine.definitions.save(input, author);
}

/** A copy of the active revision under a new id (and name), saved undeployed. */
export async function cloneChannel(
  engine: ChannelEngine,
  sourceId: string,
  target: { id: string; name?: string },
  author: string,
): Promise<StoredDefinition> {
  const source = await engine.definitions.active(sourceId);
  if (!source) throw new ChannelConflict('missing', `channel '${sourceId}' not found`);
  const copy = {
    ...structuredClone(source.definition),
    id: target.id,
    name: target.name ?? `${source.definition.name} (copy)`,
  };
  return createChannel(engine, copy, author);
}

/** Deletes an undeployed channel's definition and revisions; its stored messages stay for the browser. */
export async function deleteChannel(engine: ChannelEngine, id: string): Promise<StoredDefinition> {
  const active = await engine.definitions.active(id);
  if (!active) throw new ChannelConflict('missing', `channel '${id}' not found`);
  if (engine.channelStatus(id)) throw new ChannelConflict('deployed', `channel '${id}' is deployed; undeploy it first`);
  for (const destination of active.definition.destinations) {
    const depth = await engine.queue.depth(id, destination.name);
    if (depth > 0)
      throw new ChannelConflict(
        'queued',
        `channel '${id}' still has ${depth} message(s) queued for '${destination.name}'; deploy it to deliver them or give them up`,
      );
  }
  await engine.definitions.remove(id);
  return active;
}

/** Saves an earlier revision again as the newest; a deployed channel is redeployed with it. */
export async function revertChannel(
  engine: ChannelEngine,
  id: string,
  revision: number,
  author: string,
): Promise<{ before: StoredDefinition; after: StoredDefinition }> {
  const before = await engine.definitions.active(id);
  const earlier = await engine.definitions.revision(id, revision);
  if (!before || !earlier) throw new ChannelConflict('missing', `channel '${id}' has no revision ${revision}`);
  if (engine.channelStatus(id)) await engine.saveDefinition(earlier.definition, author);
  else await engine.definitions.save(earlier.definition, author);
  const after = await engine.definitions.active(id);
  return { before, after: after! };
}

/** A stored channel the engine does not run, in the shape of listChannels()' entries. */
export type UndeployedChannel = Omit<ChannelOverview, 'status' | 'deployedAt'> & { status: 'undeployed' };

/** Stored channels the engine does not run: created, cloned or undeployed in the console. */
export async function undeployedChannels(engine: ChannelEngine): Promise<UndeployedChannel[]> {
  const overviews: UndeployedChannel[] = [];
  for (const id of await engine.definitions.channelIds()) {
    if (engine.channelStatus(id)) continue;
    const stored = await engine.definitions.active(id).catch(() => null);
    if (!stored) continue;
    overviews.push({
      id,
      name: stored.definition.name,
      revision: stored.revision,
      status: 'undeployed',
      received: await engine.messages.count({ channelId: id }),
      errors: 0,
      queues: [],
    });
  }
  return overviews;
}
