// The composition root: load config, open the store, start the scheduler, start the listeners (DICOM, HTTP),
// deploy channels – and stop them in reverse on SIGTERM/SIGINT. How each part is wired and mounted lives beside it
// in composition/; this file only says in which order the parts start.
// First: how V8's heap grows and where compiled code is cached, before any other module's body runs (runtime/).
import './runtime/heap-settings.ts';
import './runtime/compile-cache.ts';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SeedError } from './channels/definition-store.ts';
import { ChannelEngine } from './channels/engine.ts';
import { deadOwnersOf, leaseOwner } from './channels/lease-owner.ts';
import { scheduleRetention } from './channels/retention.ts';
import { hubRegistry } from './composition/connectors.ts';
import { openDicom } from './composition/dicom.ts';
import { openGateways } from './composition/gateways.ts';
import { startHttpApi } from './composition/http-api.ts';
import { wireReports } from './composition/reports.ts';
import { openUpload } from './composition/upload.ts';
import type { HubConfig } from './config/hub-config.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { InvalidInputError } from './exams/errors.ts';
import { ExamService } from './exams/service.ts';
import { setThreadIdleSeconds } from './runtime/idle-thread.ts';
import { instanceId } from './runtime/instance-id.ts';
import { Lifecycle } from './runtime/lifecycle.ts';
import { createLogger, errorText, setLogLevel, type Logger } from './runtime/log.ts';
import { sharePortsWithSiblings } from './runtime/listener.ts';
import { ProcessMonitor } from './runtime/process-monitor.ts';
import { Scheduler } from './runtime/scheduler.ts';
import { startedMessage, Supervisor, workerEnv } from './runtime/supervisor.ts';
import { ProcessTable } from './composition/process-table.ts';
import { ReportLinks } from './composition/report-links.ts';
import { Leases } from './store/lease.ts';
import { openStore } from './store/open.ts';

async function startHub(config: HubConfig, log: Logger, parts: Lifecycle, worker: number | null): Promise<void> {
  await mkdir(config.dataDir, { recursive: true });
  const store = await openStore({
    mongodbUrl: config.store.mongodbUrl ?? undefined,
    dataDir: config.dataDir,
    log: log.child({ part: 'store' }),
  });
  parts.add('store', { stop: () => store.close() });
  const instance = await instanceId(config.dataDir);
  const owner = leaseOwner(instance);
  const takeoverMs = config.hub.takeoverSeconds * 1000;
  // A restarted hub, or a sibling worker, takes leases and job locks of this installation's exited processes at once.
  const isAbandoned = (holder: string): boolean => deadOwnersOf(instance, [holder]).length > 0;
  const scheduler = new Scheduler({
    db: store.db,
    log: log.child({ part: 'scheduler' }),
    processEveryMs: config.scheduler.processEveryMs,
    name: owner,
    isAbandoned,
  });
  await parts.start('scheduler', scheduler, (s) => s.start());

  const leases = new Leases(store.db, { owner, ttlMs: takeoverMs, isAbandoned });
  const exams = new ExamService(store.db, {
    log: log.child({ part: 'exams' }),
    outboxOwner: owner,
    outboxLeaseMs: takeoverMs,
    isAbandonedOwner: isAbandoned,
    dataDir: config.dataDir,
    maxAttachmentBytes: config.reports.maxAttachmentBytes,
  });
  wireReports(exams, config.reports, parts);
  await parts.start('exams', exams, async (service) => {
    await service.start();
    await seeding(() => service.facilities.loadDir(config.facilities.dir));
  });
  const dicom = await openDicom(config, { db: store.db, exams, scheduler, log, parts });
  const upload = await openUpload(config, { db: store.db, exams, dicom, log, parts });

  const links = new ReportLinks(config.dataDir);
  const engine = new ChannelEngine({
    db: store.db,
    registry: hubRegistry(exams, {
      dicom,
      upload,
      gateways: openGateways(store.db, scheduler, exams, log, links),
      db: store.db,
    }),
    instance,
    owner,
    leaseMs: takeoverMs,
    leases,
    log: log.child({ part: 'channels' }),
  });
  await parts.start('channels', engine, async (e) => {
    await e.start();
    await seeding(() => e.definitions.seedFromDirectory(config.channels.dir));
  });
  const processes = new ProcessTable(store.db, {
    monitor: new ProcessMonitor({ instance, owner, worker }),
    heldLeases: async () => [
      ...leases.held(),
      ...(exams.outbox.publishing ? ['outbox-publisher'] : []),
      ...(await engine.queue.locksHeldBy(owner)).map((key) => `queue:${key.replace('\u0000', '/')}`),
    ],
    log: log.child({ part: 'processes' }),
  });
  await parts.start('processes', processes, (table) => table.start());
  await scheduleRetention(
    {
      every: async (name, interval, handler) => {
        scheduler.define(name, handler);
        await scheduler.every(interval, name);
      },
    },
    engine,
    log.child({ part: 'retention' }),
  );

  await dicom.listen();
  await upload.listen();
  let deployed = false;
  await startHttpApi(config, {
    store,
    scheduler,
    engine,
    exams,
    dicom,
    upload,
    log,
    parts,
    links,
    processes,
    deployed: () => deployed,
  });
  // Channels deploy once /health answers: a deploy starts the queues, which replay what the last run left
  // undelivered, and no replayed message may keep the hub from showing that it is up (issue 10).
  await engine.deployActive();
  deployed = true;
  log.info('channels deployed', { channels: engine.channelStatuses().length });
}

/** A bad seed file (channel or facility) is a config mistake: one line naming the file and the path. */
async function seeding<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof SeedError || error instanceof InvalidInputError) throw new ConfigError(error.message);
    throw error;
  }
}

async function main(): Promise<void> {
  const worker = process.env[workerEnv];
  const log = createLogger(worker === undefined ? {} : { worker: Number(worker), pid: process.pid });
  let config: HubConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    fail(error);
    return;
  }
  setLogLevel(config.logLevel);
  setThreadIdleSeconds(config.hub.threadIdleSeconds);
  if (worker === undefined && config.hub.workers > 1) return supervise(config, log);
  if (worker !== undefined) sharePortsWithSiblings(true);
  const parts = new Lifecycle(log);
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const clean = await parts.stopAll();
    log.info('stopped', { clean });
    process.exit(clean ? 0 : 1);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // The supervisor is gone (even by SIGKILL): a worker must not serve on without it.
  if (worker !== undefined) process.once('disconnect', () => void shutdown('supervisor gone'));
  try {
    await startHub(config, log, parts, worker === undefined ? null : Number(worker));
    log.info('hub started', { config: config.file, dataDir: config.dataDir });
    process.send?.(startedMessage);
  } catch (error) {
    // Stopped while starting (a supervisor's SIGTERM to a worker it just restarted): a clean stop, which the
    // shutdown under way finishes and exits with.
    if (stopping) return;
    await parts.stopAll();
    fail(error);
    // A part may leave a timer behind after stop() (agenda keeps one for its lock lifetime); a hub that could
    // not start must still end.
    process.exit(1);
  }
}

/** hub.workers > 1: this process only forks and watches the workers (runtime/supervisor.ts). */
async function supervise(config: HubConfig, log: Logger): Promise<void> {
  const supervisor = new Supervisor({
    script: fileURLToPath(import.meta.url),
    workers: config.hub.workers,
    log: log.child({ part: 'supervisor' }),
  });
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping workers', { signal });
    const clean = await supervisor.stop(signal);
    log.info('workers stopped', { clean });
    process.exit(clean ? 0 : 1);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  log.info('supervisor started', { workers: config.hub.workers, config: config.file });
  // Resolves only when the workers could not start: they said why on stderr.
  const code = await supervisor.run();
  process.exit(code === 0 ? 1 : code);
}

/** A config mistake is one line on stderr and a non-zero exit: the operator fixes the file, not the code. */
function fail(error: unknown): void {
  if (error instanceof ConfigError) process.stderr.write(`rso-hub: ${error.message}\n`);
  else process.stderr.write(`rso-hub: could not start: ${errorText(error)}\n`);
  process.exitCode = 1;
}

await main();
