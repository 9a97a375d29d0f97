// The composition root: load config, open the store, start the scheduler, deploy channels, start the HTTP
// server – and stop them in reverse on SIGTERM/SIGINT. Nothing else lives here.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, loadConfig } from './config/load.ts';
import type { HubConfig } from './config/hub-config.ts';
import { requireAuth, TokenAuthenticator, type TokenEntry } from './http/auth.ts';
import { createAdminApiRouter } from './admin-ui/api.ts';
import { AuditLog } from './admin-ui/audit.ts';
import { createWorklistRouter } from './admin-ui/worklists.ts';
import { createFhirRouter } from './fhir/router.ts';
import { createHealthRouter } from './http/health.ts';
import { createMetricsRouter } from './http/metrics-route.ts';
import { HttpServer, ListenError } from './http/server.ts';
import { generatedAdminToken } from './runtime/admin-token.ts';
import { hubRegistry } from './runtime/connectors.ts';
import { instanceId } from './runtime/instance-id.ts';
import { Lifecycle } from './runtime/lifecycle.ts';
import { createLogger, errorText, setLogLevel, type Logger } from './runtime/log.ts';
import { openStore } from './store/open.ts';
import { Scheduler } from './runtime/scheduler.ts';
import { SeedError } from './channels/definition-store.ts';
import { ChannelEngine } from './channels/engine.ts';
import { deadOwnersOf, leaseOwner } from './channels/lease-owner.ts';
import { scheduleRetention } from './channels/retention.ts';
import { InvalidInputError } from './exams/errors.ts';
import { ExamService } from './exams/service.ts';
import { StudyIndex } from './dicom/study-index.ts';
import { StudyCompletion } from './dicom/study-completion.ts';
import { StudyIngest } from './dicom/ingest.ts';
import { DicomScp } from './dicom/scp.ts';
import { createStowRouter } from './dicom/stow-rs.ts';

async function tokensFor(config: HubConfig, log: Logger): Promise<TokenEntry[]> {
  if (config.auth.tokens.length > 0) return config.auth.tokens;
  const { entry, file } = await generatedAdminToken(config.dataDir);
  log.warn('no auth.tokens configured: using the generated admin token', { file: path.relative(process.cwd(), file) });
  return [entry];
}

async function startHub(config: HubConfig, log: Logger, parts: Lifecycle): Promise<void> {
  await mkdir(config.dataDir, { recursive: true });
  const store = await openStore({ mongodbUrl: config.store.mongodbUrl ?? undefined, dataDir: config.dataDir, log: log.child({ part: 'store' }) });
  parts.add('store', { stop: () => store.close() });
  const scheduler = new Scheduler({ db: store.db, log: log.child({ part: 'scheduler' }), processEveryMs: config.scheduler.processEveryMs });
  await parts.start('scheduler', scheduler, (s) => s.start());

  const instance = await instanceId(config.dataDir);
  const exams = new ExamService(store.db, {
    log: log.child({ part: 'exams' }),
    // A restarted hub takes the event publisher's lease from its own crashed process at once (not after 30 s).
    outboxOwner: leaseOwner(instance),
    isAbandonedOwner: (owner) => deadOwnersOf(instance, [owner]).length > 0,
  });
  await parts.start('exams', exams, async (service) => {
    await service.start();
    await seeding(() => service.facilities.loadDir(config.facilities.dir));
  });

  // The study index, completion jobs and ingest exist even with the DICOM listener off: STOW-RS, ImagingStudy
  // and dicom-scu routes use them too.
  const studies = new StudyIndex(store.db);
  await studies.ensureIndexes();
  exams.lists.countStudiesWith(studies);
  await mkdir(config.dicom.storageDir, { recursive: true });
  const completion = new StudyCompletion({ scheduler, index: studies, exams, log: log.child({ part: 'dicom-completion' }) });
  completion.define();
  await completion.start();
  const ingest = new StudyIngest({
    exams,
    index: studies,
    completion,
    storageDir: config.dicom.storageDir,
    duplicateInstances: config.dicom.duplicateInstances,
    studyQuietSeconds: config.dicom.studyQuietSeconds,
    syncStorage: true,
    log: log.child({ part: 'dicom-ingest' }),
  });
  parts.add('dicom-ingest', ingest);

  const engine = new ChannelEngine({ db: store.db, registry: hubRegistry(exams, { index: studies, aeTitle: config.dicom.aeTitle }), instance, log: log.child({ part: 'channels' }) });
  await parts.start('channels', engine, async (e) => {
    await e.start();
    await seeding(() => e.definitions.seedFromDirectory(config.channels.dir));
    await e.deployActive();
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

  const scp = config.dicom.enabled ? await startScp(config, exams, ingest, log, parts) : undefined;

  const authenticator = new TokenAuthenticator(await tokensFor(config, log));
  const auth = requireAuth(authenticator);
  const http = new HttpServer({ host: config.http.host, port: config.http.port, log: log.child({ part: 'http' }) });
  http.mount(
    createHealthRouter([
      { name: 'store', essential: true, check: async () => ({ ok: await store.ping(), engine: store.engine }) },
      { name: 'scheduler', essential: true, check: async () => ({ ok: scheduler.isRunning() }) },
      { name: 'channels', essential: false, check: async () => channelHealth(engine) },
      { name: 'dicom', essential: false, check: async (): Promise<Record<string, string | number | boolean>> => (scp === undefined ? { ok: true, enabled: false } : { ok: scp.listening, aeTitle: config.dicom.aeTitle, port: scp.port }) },
    ]),
  );
  http.mount(createMetricsRouter(auth));
  const audit = new AuditLog(store.db);
  await audit.open();
  http.mount(createAdminApiRouter({ engine, audit, auth }));
  http.mount(createWorklistRouter(exams, auth));
  // The FHIR definitions cost ~0.6 s and ~300 MB: loaded on the first FHIR request, not by every hub.
  http.mount(createFhirRouter({ exams, auth: authenticator, log: log.child({ part: 'fhir' }), preloadDefinitions: false, studies }));
  http.mount(createStowRouter({ ingest, exams, auth, storageDir: config.dicom.storageDir, log: log.child({ part: 'stow-rs' }) }));
  try {
    await parts.start('http', http, (server) => server.start());
  } catch (error) {
    if (error instanceof ListenError) throw new ConfigError(`${config.file}: http.port: ${error.message}`);
    throw error;
  }
}

/** The C-STORE SCP: known calling AE titles only (a facility's), every stored instance through the ingest. */
async function startScp(config: HubConfig, exams: ExamService, ingest: StudyIngest, log: Logger, parts: Lifecycle): Promise<{ readonly listening: boolean; readonly port: number }> {
  let listening = false;
  const scp = new DicomScp({
    aeTitle: config.dicom.aeTitle,
    host: config.dicom.host,
    port: config.dicom.port,
    storageDir: config.dicom.storageDir,
    // The ingest moves each file into its study folder itself: one rename and one directory sync per instance.
    handOver: true,
    log: log.child({ part: 'dicom' }),
    isKnownCallingAe: async (ae) => (await exams.facilities.findByAeTitle(ae)) !== undefined,
    onInstanceStored: async (instance) => {
      const facility = await exams.facilities.findByAeTitle(instance.callingAe);
      if (!facility) throw new Error(`calling AE ${instance.callingAe} no longer belongs to an active facility`);
      await ingest.ingest(instance, { facility, source: instance.callingAe, via: 'dicom', callingAe: instance.callingAe });
    },
  });
  try {
    await parts.start('dicom', { stop: async () => { listening = false; await scp.stop(); } }, async () => {
      await scp.start();
      listening = true;
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new ConfigError(`${config.file}: dicom.port: ${config.dicom.host}:${config.dicom.port}: ${code === 'EADDRINUSE' ? 'the port is already in use' : 'permission denied'}`);
    throw error;
  }
  return {
    get listening() {
      return listening;
    },
    get port() {
      return scp.port;
    },
  };
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

async function channelHealth(engine: ChannelEngine): Promise<Record<string, number | boolean>> {
  const channels = engine.channelStatuses();
  const failed = channels.filter((c) => c.status === 'failed').length;
  return { ok: failed === 0, deployed: channels.filter((c) => c.status === 'deployed').length, failed };
}

async function main(): Promise<void> {
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
