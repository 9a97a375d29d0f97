// One deployed channel revision and how its parts start and stop: queue workers first (so what was queued before
// a restart moves even if the source cannot open), then the pipeline and the source; stopping runs the other way
// (source, workers, connectors), so nothing is received that no worker would deliver. The engine (engine.ts)
// decides what to deploy and when; this file only builds and tears down one deployment.
import type { EventEmitter } from 'node:events';
import { errorText, type Logger } from '../runtime/log.ts';
import type { DestinationConnector, SourceConnector } from './connector.ts';
import type { ChannelDefinition } from './definition.ts';
import type { DeploymentStatus, EngineEvents } from './engine-events.ts';
import type { MessageStore } from './message-store.ts';
import { ChannelPipeline } from './pipeline.ts';
import type { DeliveryQueue } from './queue.ts';
import { QueueWorker } from './queue-worker.ts';
import type { ChannelRegistry } from './registry.ts';
import { SingletonSource } from './singleton-source.ts';
import type { Leases } from '../store/lease.ts';

export interface Deployment {
  definition: ChannelDefinition;
  revision: number;
  status: DeploymentStatus;
  error?: string;
  deployedAt: Date;
  pipeline?: ChannelPipeline;
  source?: SourceConnector;
  connectors: DestinationConnector[];
  workers: Map<string, QueueWorker>;
}

export interface ChannelStatus {
  id: string;
  name: string;
  revision: number;
  status: DeploymentStatus;
  error?: string;
  deployedAt: Date;
}

/** What starting a deployment needs of its engine. */
export interface DeploymentContext {
  registry: ChannelRegistry;
  messages: MessageStore;
  queue: DeliveryQueue;
  events: EventEmitter<EngineEvents>;
  log: Logger;
  owner: string;
  leaseMs: number;
  pollMs: number;
  stopTimeoutMs: number;
  budgetMs: number | undefined;
  /** Leases for sources that run in one process at a time; without them every source runs here. */
  leases: Leases | undefined;
  /** When the engine started: what was queued before may have been in the middle of delivery when it stopped. */
  startedAt: Date;
}

export function statusOf(d: Deployment): ChannelStatus {
  return {
    id: d.definition.id,
    name: d.definition.name,
    revision: d.revision,
    status: d.status,
    ...(d.error === undefined ? {} : { error: d.error }),
    deployedAt: d.deployedAt,
  };
}

export async function startDeployment(deployment: Deployment, context: DeploymentContext): Promise<void> {
  const { definition } = deployment;
  const { registry } = context;
  const channelLog = context.log.child({ channelId: definition.id });
  await recoverUnqueued(definition.id, channelLog, context);
  // Workers first: whatever is still queued from before a restart starts moving even if the source fails.
  for (const destination of definition.destinations) {
    const type = registry.destination(destination.connector.type);
    if (!type)
      throw new Error(`destination '${destination.name}': unknown connector type '${destination.connector.type}'`);
    const log = channelLog.child({ destination: destination.name });
    const connector = type.create(destination.connector.settings, {
      channelId: definition.id,
      destinationName: destination.name,
      log,
    });
    deployment.connectors.push(connector);
    const worker = new QueueWorker({
      channelId: definition.id,
      destination,
      connector,
      queue: context.queue,
      messages: context.messages,
      events: context.events,
      log,
      owner: context.owner,
      leaseMs: context.leaseMs,
      pollMs: context.pollMs,
      stopTimeoutMs: context.stopTimeoutMs,
      // What was queued before this engine started may have been in the middle of delivery when it stopped.
      replayBefore: context.startedAt,
      ...(context.budgetMs === undefined ? {} : { budgetMs: context.budgetMs }),
    });
    await worker.start();
    deployment.workers.set(destination.name, worker);
  }
  const pipeline = new ChannelPipeline({
    definition,
    revision: deployment.revision,
    registry,
    messages: context.messages,
    queue: context.queue,
    log: channelLog,
    wake: (name) => deployment.workers.get(name)?.wake(),
    connectors: deployment.connectors,
    events: context.events,
  });
  deployment.pipeline = pipeline;
  const sourceType = registry.source(definition.source.type);
  if (!sourceType) throw new Error(`unknown source connector type '${definition.source.type}'`);
  const sourceContext = pipeline.context(channelLog.child({ part: 'source' }));
  const create = () => sourceType.create(definition.source.settings, sourceContext);
  const leases = context.leases;
  const source =
    sourceType.oneProcessAtATime && leases !== undefined
      ? new SingletonSource(
          create,
          leases.lease(`source:${definition.id}`),
          sourceContext.log,
          singletonCheckMs(leases.ttlMs),
        )
      : create();
  deployment.source = source;
  await source.start();
}

/**
 * How often a process that does not run a singleton source asks for its lease: often enough that a holder known
 * dead (a pid of this installation) is replaced within a second, while a live holder renews at half its lease.
 */
export function singletonCheckMs(ttlMs: number): number {
  return Math.min(1_000, ttlMs / 4);
}

/**
 * The pipeline records 'queued' on the message and then writes the queue items; a crash between the two
 * leaves deliveries with no item. Messages received before this engine started and still 'queued' without
 * an item get it now. The item ids are fixed per delivery, so racing another process's pipeline is harmless;
 * the worst case is a second delivery, which at-least-once delivery allows.
 */
async function recoverUnqueued(channelId: string, log: Logger, context: DeploymentContext): Promise<void> {
  const queued = await context.queue.queuedMessageIds(channelId);
  const candidates = await context.messages.withQueuedDeliveries(channelId, context.startedAt);
  let recovered = 0;
  for (const message of candidates) {
    if (queued.has(message._id)) continue;
    const items = message.destinations.flatMap((d, destinationIndex) =>
      d.state === 'queued' && d.content !== undefined
        ? [
            {
              channelId,
              destination: d.name,
              destinationIndex,
              messageId: message._id,
              content: d.content,
              dataType: message.dataType,
              seq: message.receivedAt.getTime() * 1000,
            },
          ]
        : [],
    );
    await context.queue.enqueue(items);
    recovered += items.length;
  }
  if (recovered > 0) log.warn('re-queued deliveries lost in a crash', { count: recovered });
}

/** Stops the source, then the workers, then the connectors; a part that fails to stop is logged, not thrown. */
export async function teardown(deployment: Deployment, log: Logger): Promise<void> {
  await stopSource(deployment, log);
  await stopWorkers(deployment);
  await stopConnectors(deployment, log);
}

export async function stopSource(deployment: Deployment, log: Logger): Promise<void> {
  const source = deployment.source;
  deployment.source = undefined;
  if (!source) return;
  await source
    .stop()
    .catch((error: unknown) =>
      log.error('source stop failed', { channelId: deployment.definition.id, error: errorText(error) }),
    );
}

export async function stopWorkers(deployment: Deployment): Promise<void> {
  const workers = [...deployment.workers.values()];
  deployment.workers.clear();
  await Promise.all(workers.map((w) => w.stop()));
}

export async function stopConnectors(deployment: Deployment, log: Logger): Promise<void> {
  const connectors = deployment.connectors;
  deployment.connectors = [];
  await Promise.all(
    connectors.map((c) =>
      c.stop().catch((error: unknown) =>
        log.error('destination stop failed', {
          channelId: deployment.definition.id,
          error: errorText(error),
        }),
      ),
    ),
  );
}
