// The channel engine: deploys channel revisions (source connector, pipeline, destination connectors and
// their queue workers), stops them in a safe order, and offers the operations the admin UI needs as plain
// typed functions. It never imports a protocol: connectors come from the registry.
import type { Leases } from '../store/lease.ts';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { deadOwnersOf, leaseOwner } from './lease-owner.ts';
import type { HubDb } from '../store/db.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import type { ReceiveOutcome } from './connector.ts';
import type { ChannelDefinition } from './definition.ts';
import { DefinitionStore, type StoredDefinition } from './definition-store.ts';
import type { EngineEvents } from './engine-events.ts';
import { MessageStore, type MessageDoc, type MessageQuery, type MessageSummary } from './message-store.ts';
import { DeliveryQueue } from './queue.ts';
import type { QueueWorker } from './queue-worker.ts';
import type { ChannelRegistry } from './registry.ts';
import { stopScriptThread } from './script-thread.ts';
import {
  startDeployment,
  statusOf,
  stopConnectors,
  stopSource,
  stopWorkers,
  teardown,
  type ChannelStatus,
  type Deployment,
  type DeploymentContext,
} from './deployment.ts';

export type { ChannelStatus } from './deployment.ts';

export interface EngineOptions {
  db: HubDb;
  registry: ChannelRegistry;
  log: Logger;
  /** This process's name in queue leases; default from `instance` (see lease-owner.ts). */
  owner?: string;
  /** Names this hub installation (hub.ts keeps it in the data dir); default the host name. */
  instance?: string;
  /** How often idle workers look for work enqueued elsewhere (other processes, due retries). Default 1000. */
  pollIntervalMs?: number;
  /** How long a claim stays valid without renewal; a crashed process's work is taken over after it. Default 30000. */
  leaseMs?: number;
  /** Leases for sources that must run in one process at a time (several hub processes on one store). */
  leases?: Leases;
  /** How long stop() waits for each delivery in flight. Default 10000. */
  stopTimeoutMs?: number;
  /** An in-process delivery attempt that fails after longer than this counts as unfinished (queue-worker.ts). */
  budgetMs?: number;
}

/** What the engine runs for one channel; `revision` 0 is a definition deployed without the store. */
export interface Deployable {
  definition: ChannelDefinition;
  revision: number;
}

export interface DestinationQueueStatus {
  destination: string;
  depth: number;
  paused: boolean;
}

export interface ChannelOverview extends ChannelStatus {
  received: number;
  errors: number;
  queues: DestinationQueueStatus[];
}

/** How long stopping waits for a destination's delivery in flight before leaving it to its lease. */
export const defaultStopTimeoutMs = 10_000;

export class ChannelEngine {
  readonly definitions: DefinitionStore;
  readonly messages: MessageStore;
  readonly queue: DeliveryQueue;
  readonly events = new EventEmitter<EngineEvents>();
  readonly owner: string;
  readonly #registry: ChannelRegistry;
  readonly #log: Logger;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #stopTimeoutMs: number;
  readonly #budgetMs: number | undefined;
  readonly #deployments = new Map<string, Deployment>();
  /** Deploy/undeploy of one channel must not interleave (a redeploy during a slow source stop). */
  #serial: Promise<unknown> = Promise.resolve();
  #started = false;
  #startedAt = new Date();
  readonly #instance: string;
  readonly #leases: Leases | undefined;

  constructor(options: EngineOptions) {
    this.definitions = new DefinitionStore(options.db, options.registry);
    this.messages = new MessageStore(options.db);
    this.queue = new DeliveryQueue(options.db);
    this.#instance = options.instance ?? hostname();
    this.owner = options.owner ?? leaseOwner(this.#instance);
    this.#registry = options.registry;
    this.#log = options.log;
    this.#pollMs = options.pollIntervalMs ?? 1000;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? defaultStopTimeoutMs;
    this.#budgetMs = options.budgetMs;
    this.#leases = options.leases;
  }

  /** The connector and data types channels may name: for a dry run (dry-run.ts). */
  get registry(): ChannelRegistry {
    return this.#registry;
  }

  /** Creates the indexes; deploys nothing. */
  async start(): Promise<void> {
    await this.definitions.open();
    await this.messages.open();
    await this.queue.open();
    const dead = deadOwnersOf(this.#instance, await this.queue.leaseHolders());
    if (dead.length > 0) {
      await this.queue.releaseOwners(dead);
      this.#log.info('took back queue leases of exited processes', { owners: dead.length });
    }
    this.#started = true;
    this.#startedAt = new Date();
  }

  /** Sources first (no new messages), then workers (in-flight deliveries finish), then connectors. */
  async stop(): Promise<void> {
    await this.#exclusive(async () => {
      const deployments = [...this.#deployments.values()];
      await Promise.all(deployments.map((d) => stopSource(d, this.#log)));
      await Promise.all(deployments.map((d) => stopWorkers(d)));
      await Promise.all(deployments.map((d) => stopConnectors(d, this.#log)));
      await stopScriptThread();
      for (const d of deployments) d.status = 'undeployed';
      this.#deployments.clear();
      this.#started = false;
    });
  }

  /** Deploys each channel's active revision from the definition store. */
  async deployActive(): Promise<ChannelStatus[]> {
    const statuses: ChannelStatus[] = [];
    for (const id of await this.definitions.channelIds()) statuses.push(await this.redeploy(id));
    return statuses;
  }

  /** Deploys the given revisions (replacing running ones of the same channel). */
  async deploy(channels: Deployable | Deployable[]): Promise<ChannelStatus[]> {
    const list = Array.isArray(channels) ? channels : [channels];
    const statuses: ChannelStatus[] = [];
    for (const channel of list) statuses.push(await this.#exclusive(() => this.#deployOne(channel)));
    return statuses;
  }

  /** Re-reads the channel's active revision and deploys it. */
  async redeploy(channelId: string): Promise<ChannelStatus> {
    let stored: StoredDefinition | null;
    try {
      stored = await this.definitions.active(channelId);
    } catch (error) {
      // A stored revision that no longer validates (e.g. its connector type is gone) fails that channel only.
      return this.#exclusive(() => this.#markFailed(channelId, errorText(error)));
    }
    if (!stored) throw new Error(`channel '${channelId}' has no definition`);
    const [status] = await this.deploy(stored);
    return status!;
  }

  async undeploy(channelId: string): Promise<void> {
    await this.#exclusive(async () => {
      const deployment = this.#deployments.get(channelId);
      if (!deployment) return;
      await teardown(deployment, this.#log);
      this.#deployments.delete(channelId);
      this.events.emit('deployment', { channelId, revision: deployment.revision, status: 'undeployed' });
    });
  }

  /** Validates and saves a new revision; if the engine runs, the channel is redeployed with it. */
  async saveDefinition(input: unknown, author?: string): Promise<ChannelStatus | { id: string; revision: number }> {
    const stored = await this.definitions.save(input, author);
    if (!this.#started) return { id: stored.definition.id, revision: stored.revision };
    const [status] = await this.deploy(stored);
    return status!;
  }

  /** This process's worker of a deployed destination (queue-admin.ts runs console changes between its steps). */
  worker(channelId: string, destination: string): QueueWorker | undefined {
    return this.#deployments.get(channelId)?.workers.get(destination);
  }

  channelStatus(channelId: string): ChannelStatus | undefined {
    const d = this.#deployments.get(channelId);
    return d ? statusOf(d) : undefined;
  }

  /** Deployment status of every channel, from memory: cheap enough for /health. */
  channelStatuses(): ChannelStatus[] {
    return [...this.#deployments.values()].map(statusOf);
  }

  /** Status plus message counts and queue depths; counting reads the store, so this is for the admin UI. */
  async listChannels(): Promise<ChannelOverview[]> {
    const overviews: ChannelOverview[] = [];
    for (const d of this.#deployments.values()) {
      const id = d.definition.id;
      const [received, errors, queues] = await Promise.all([
        this.messages.count({ channelId: id }),
        this.messages.errorCount(id),
        this.queueDepths(id),
      ]);
      overviews.push({ ...statusOf(d), received, errors, queues });
    }
    return overviews;
  }

  async queueDepths(channelId: string): Promise<DestinationQueueStatus[]> {
    const deployment = this.#deployments.get(channelId);
    if (!deployment) throw new Error(`channel '${channelId}' is not deployed`);
    return Promise.all(
      deployment.definition.destinations.map(async (d) => ({
        destination: d.name,
        depth: await this.queue.depth(channelId, d.name),
        paused: (await this.queue.destinationState(channelId, d.name))?.paused ?? false,
      })),
    );
  }

  async pauseDestination(channelId: string, destination: string): Promise<void> {
    this.#requireDestination(channelId, destination);
    await this.queue.setPaused(channelId, destination, true);
  }

  async resumeDestination(channelId: string, destination: string): Promise<void> {
    this.#requireDestination(channelId, destination);
    await this.queue.setPaused(channelId, destination, false);
    this.#deployments.get(channelId)?.workers.get(destination)?.wake();
  }

  async searchMessages(query: MessageQuery): Promise<{ total: number; items: MessageSummary[] }> {
    return this.messages.search(query);
  }

  async messagesOfOrders(messageType: string, orderNumbers: readonly string[]): Promise<MessageSummary[]> {
    return this.messages.summariesOfOrders(messageType, orderNumbers);
  }

  async getMessage(messageId: string): Promise<MessageDoc | null> {
    return this.messages.get(messageId);
  }

  /** Runs a stored message's raw content through the channel's running revision again, as a new message. */
  async reprocess(messageId: string): Promise<ReceiveOutcome> {
    const original = await this.messages.get(messageId);
    if (!original) throw new Error(`message '${messageId}' not found`);
    const deployment = this.#deployments.get(original.channelId);
    if (!deployment?.pipeline) throw new Error(`channel '${original.channelId}' is not deployed`);
    const message = { raw: original.raw, dataType: original.dataType, source: original.source };
    return deployment.pipeline.receive(message, original._id);
  }

  /**
   * Queues a message's mapped content for one destination again (after the peer fixed something). `all` asks a
   * connector that remembers partial progress to send everything again (OutboundMessage.resendAll).
   */
  async resend(messageId: string, destination: string, options: { all?: boolean } = {}): Promise<void> {
    const message = await this.messages.get(messageId);
    if (!message) throw new Error(`message '${messageId}' not found`);
    const destinationIndex = message.destinations.findIndex((d) => d.name === destination);
    const record = message.destinations[destinationIndex];
    if (!record) throw new Error(`message '${messageId}' has no destination '${destination}'`);
    if (record.content === undefined)
      throw new Error(`message '${messageId}' has no content for '${destination}' (it was ${record.state})`);
    await this.messages.updateDelivery(messageId, destinationIndex, { state: 'queued', attempts: 0, lastError: null });
    const { channelId, dataType } = message;
    const again = { again: true, ...(options.all ? { resendAll: true as const } : {}) };
    const content = record.content;
    await this.queue.enqueue([{ channelId, destination, destinationIndex, messageId, content, dataType, ...again }]);
    this.#deployments.get(message.channelId)?.workers.get(destination)?.wake();
  }

  /** Deletes messages older than each stored channel's retention; returns the count per channel. */
  async applyRetention(now = new Date()): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    for (const id of await this.definitions.channelIds()) {
      const days = await this.#retentionDays(id);
      if (days === undefined || days === 0) continue;
      const cutoff = new Date(now.getTime() - days * 86_400_000);
      deleted[id] = await this.messages.deleteReceivedBefore(id, cutoff);
      if (deleted[id] > 0)
        this.#log.info('retention deleted messages', { channelId: id, count: deleted[id], retentionDays: days });
    }
    return deleted;
  }

  async #retentionDays(channelId: string): Promise<number | undefined> {
    const deployed = this.#deployments.get(channelId);
    if (deployed) return deployed.definition.retentionDays;
    try {
      return (await this.definitions.active(channelId))?.definition.retentionDays;
    } catch {
      return undefined;
    }
  }

  #requireDestination(channelId: string, destination: string): void {
    const deployment = this.#deployments.get(channelId);
    if (!deployment) throw new Error(`channel '${channelId}' is not deployed`);
    if (!deployment.definition.destinations.some((d) => d.name === destination))
      throw new Error(`channel '${channelId}' has no destination '${destination}'`);
  }

  #deploymentContext(): DeploymentContext {
    return {
      registry: this.#registry,
      messages: this.messages,
      queue: this.queue,
      events: this.events,
      log: this.#log,
      owner: this.owner,
      leaseMs: this.#leaseMs,
      pollMs: this.#pollMs,
      stopTimeoutMs: this.#stopTimeoutMs,
      budgetMs: this.#budgetMs,
      startedAt: this.#startedAt,
      leases: this.#leases,
    };
  }

  #exclusive<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(run, run);
    this.#serial = next.catch(() => {});
    return next;
  }

  async #deployOne({ definition, revision }: Deployable): Promise<ChannelStatus> {
    const previous = this.#deployments.get(definition.id);
    if (previous) await teardown(previous, this.#log);
    const deployment: Deployment = {
      definition,
      revision,
      status: 'disabled',
      deployedAt: new Date(),
      connectors: [],
      workers: new Map(),
    };
    this.#deployments.set(definition.id, deployment);
    if (definition.enabled) {
      try {
        await startDeployment(deployment, this.#deploymentContext());
        deployment.status = 'deployed';
      } catch (error) {
        deployment.status = 'failed';
        deployment.error = errorText(error);
        this.#log.error('channel deploy failed', { channelId: definition.id, revision, error: deployment.error });
        await teardown(deployment, this.#log);
      }
    }
    this.events.emit('deployment', {
      channelId: definition.id,
      revision,
      status: deployment.status,
      ...(deployment.error ? { error: deployment.error } : {}),
    });
    if (deployment.status === 'deployed') this.#log.info('channel deployed', { channelId: definition.id, revision });
    return statusOf(deployment);
  }

  async #markFailed(channelId: string, error: string): Promise<ChannelStatus> {
    const previous = this.#deployments.get(channelId);
    if (previous) {
      await teardown(previous, this.#log);
      previous.status = 'failed';
      previous.error = error;
      return statusOf(previous);
    }
    this.#log.error('channel definition no longer valid', { channelId, error });
    return { id: channelId, name: channelId, revision: 0, status: 'failed', error, deployedAt: new Date() };
  }
}
