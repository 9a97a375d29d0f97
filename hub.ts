// The composition root: load config, open the store, start the scheduler, start the listeners (DICOM, HTTP),
// deploy channels – and stop them in reverse on SIGTERM/SIGINT. How each part is wired and mounted lives beside it
// in composition/; this file only says in which order the parts start.
import { mkdir } from 'node:fs/promises';
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
import { keepYoungGenerationSmall } from './runtime/heap-settings.ts';
import { instanceId } from './runtime/instance-id.ts';
import { Lifecycle } from './runtime/lifecycle.ts';
import { createLogger, errorText, setLogLevel, type Logger } from './runtime/log.ts';
import { Scheduler } from './runtime/scheduler.ts';
import { ReportLinks } from './composition/report-links.ts';
import { openStore } from './store/open.ts';

async function startHub(config: HubConfig, log: Logger, parts: Lifecycle): Promise<void> {
  await mkdir(config.dataDir, { recursive: true });
  const store = await openStore({
    mongodbUrl: config.store.mongodbUrl ?? undefined,
    dataDir: config.dataDir,
    log: log.child({ part: 'store' }),
  });
  parts.add('store', { stop: () => store.close() });
  const scheduler = new Scheduler({
    db: store.db,
    log: log.child({ part: 'scheduler' }),
    processEveryMs: config.scheduler.processEveryMs,
  });
  await parts.start('scheduler', scheduler, (s) => s.start());

  const instance = await instanceId(config.dataDir);
  const exams = new ExamService(store.db, {
    log: log.child({ part: 'exams' }),
    // A restarted hub takes the event publisher's lease from its own crashed process at once (not after 30 s).
    outboxOwner: leaseOwner(instance),
    isAbandonedOwner: (owner) => deadOwnersOf(instance, [owner]).length > 0,
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
    log: log.child({ part: 'channels' }),
  });
  await parts.start('channels', engine, async (e) => {
    await e.start();
    await seeding(() => e.definitions.seedFromDirectory(config.channels.dir));
  });
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
  keepYoungGenerationSmall();
  const log = createLogger();
  let config: HubConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    fail(error);
    return;
  }
  setLogLevel(config.logLevel);
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
  try {
    await startHub(config, log, parts);
    log.info('hub started', { config: config.file, dataDir: config.dataDir });
  } catch (error) {
    await parts.stopAll();
    fail(error);
    // A part may leave a timer behind after stop() (agenda keeps one for its lock lifetime); a hub that could
    // not start must still end.
    process.exit(1);
  }
}

/** A config mistake is one line on stderr and a non-zero exit: the operator fixes the file, not the code. */
function fail(error: unknown): void {
  if (error instanceof ConfigError) process.stderr.write(`rso-hub: ${error.message}\n`);
  else process.stderr.write(`rso-hub: could not start: ${errorText(error)}\n`);
  process.exitCode = 1;
}

await main();
