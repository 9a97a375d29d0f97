// The HTTP listener and what is mounted on it: /health (one check per part), /metrics, the admin API and work lists
// (/api), FHIR (/fhir/R4), STOW-RS (/dicomweb) and e-mailed report links (/links). Each router lives in its own folder and knows only its own
// dependencies; this file decides which routers exist, in what order, and with which authenticator.
import type { ProcessRecord, ProcessTable } from './process-table.ts';
import { collectedGauge } from '../http/metrics.ts';
import path from 'node:path';
import { createAdminApiRouter } from '../admin-ui/api.ts';
import { AuditLog } from '../admin-ui/audit.ts';
import { createWebAppRouter } from '../admin-ui/web-app.ts';
import { createWorklistRouter } from '../admin-ui/worklists.ts';
import { createReportRouter } from '../admin-ui/reports.ts';
import { createDispatchRouter } from '../admin-ui/dispatch-routes.ts';
import { createBillingRouter } from '../admin-ui/billing-routes.ts';
import { createFacilityWorkRouter } from '../admin-ui/facility-work-routes.ts';
import { createTechnicianRouter } from '../admin-ui/technician-routes.ts';
import type { ChannelEngine } from '../channels/engine.ts';
import type { HubConfig } from '../config/hub-config.ts';
import { createDicomwebRouter, signedInAccess } from '../dicom/dicomweb.ts';
import { createStowRouter } from '../dicom/stow-rs.ts';
import type { ExamService } from '../exams/service.ts';
import { createFhirRouter } from '../fhir/router.ts';
import { requireAuth, TokenAuthenticator, type TokenEntry } from '../http/auth.ts';
import { createHealthRouter } from '../http/health.ts';
import { createMetricsRouter } from '../http/metrics-route.ts';
import { HttpServer } from '../http/server.ts';
import type { Lifecycle } from '../runtime/lifecycle.ts';
import type { Logger } from '../runtime/log.ts';
import type { Scheduler } from '../runtime/scheduler.ts';
import type { Store } from '../store/db.ts';
import { generatedAdminToken } from './admin-token.ts';
import { openConsoleAuth } from './console.ts';
import type { DicomPart } from './dicom.ts';
import { listening } from './listening.ts';
import { mountReading } from './reading.ts';
import { createReportLinkRouter } from './report-link-route.ts';
import type { ReportLinks } from './report-links.ts';
import type { UploadPart } from './upload.ts';
import { createUploadsRouter } from '../upload/uploads-route.ts';

export interface HttpApiDeps {
  readonly store: Store;
  readonly scheduler: Scheduler;
  readonly engine: ChannelEngine;
  readonly exams: ExamService;
  readonly dicom: DicomPart;
  readonly upload?: UploadPart;
  readonly log: Logger;
  readonly parts: Lifecycle;
  /** False while hub.ts still deploys the channels (after /health is up): /health then says so, with 503. */
  readonly deployed?: () => boolean;
  /** The hub processes of this installation (this one and its siblings), for /health, /metrics and the dashboard. */
  readonly processes?: ProcessTable;
  /** Signs the report links e-mailed to facilities; the hub serves them at /links/reports/<token>. */
  readonly links: ReportLinks;
}

export async function startHttpApi(config: HubConfig, deps: HttpApiDeps): Promise<void> {
  const { store, scheduler, engine, exams, dicom, log } = deps;
  const authenticator = new TokenAuthenticator(await tokensFor(config, log));
  const consoleAuth = await openConsoleAuth(config, store.db, log);
  const auth = requireAuth(authenticator, consoleAuth.sessionOptions);
  const http = new HttpServer({ ...config.http, log: log.child({ part: 'http' }) });
  http.mount(
    createHealthRouter(
      [
        { name: 'startup', essential: true, check: async () => startupHealth(deps.deployed?.() ?? true) },
        { name: 'store', essential: true, check: async () => ({ ok: await store.ping(), engine: store.engine }) },
        { name: 'scheduler', essential: true, check: async () => ({ ok: scheduler.isRunning() }) },
        { name: 'channels', essential: false, check: async () => channelHealth(engine) },
        { name: 'dicom', essential: false, check: async () => dicom.health() },
        { name: 'upload', essential: false, check: async () => deps.upload?.health() ?? { ok: true } },
        { name: 'process', essential: false, check: async () => processHealth(deps.processes) },
      ],
      authenticator,
    ),
  );
  http.mount(createMetricsRouter(auth));
  if (deps.processes) processMetrics(deps.processes);
  const audit = new AuditLog(store.db);
  await audit.open();
  for (const router of consoleAuth.routers(authenticator, audit, {
    engine,
    exams,
    listeners: async () => dicomListener(dicom),
    dicom: () => dicom.panel(),
    processes: async () => (await deps.processes?.list()) ?? [],
  }))
    http.mount(router);
  http.mount(createAdminApiRouter({ engine, audit, auth }));
  // Without auth by design: the signed token is the permission (report-link-route.ts).
  http.mount(createReportLinkRouter({ exams, links: deps.links, audit, log: log.child({ part: 'report-links' }) }));
  http.mount(createWorklistRouter(exams, auth, (type, orders) => engine.messagesOfOrders(type, orders)));
  http.mount(createReportRouter(exams, auth));
  http.mount(createDispatchRouter(exams, auth));
  await mountReading(http, config, { db: store.db, exams, dicom, audit, auth });
  http.mount(createFacilityWorkRouter(exams, auth, audit));
  const studyMoved = (uid: string, examNumber: string) => dicom.studies.setMatch(uid, examNumber, 'manual');
  http.mount(createTechnicianRouter({ exams, auth, audit, studyMoved }));
  http.mount(createBillingRouter(exams, store.db, auth));
  // The FHIR definitions cost ~0.6 s and ~300 MB: loaded on the first FHIR request, not by every hub.
  http.mount(
    createFhirRouter({
      exams,
      auth: authenticator,
      log: log.child({ part: 'fhir' }),
      preloadDefinitions: false,
      studies: dicom.studies,
    }),
  );
  http.mount(
    createStowRouter({
      ingest: dicom.ingest,
      exams,
      auth,
      storageDir: config.dicom.storageDir,
      log: log.child({ part: 'stow-rs' }),
    }),
  );
  http.mount(
    createDicomwebRouter({ studies: dicom.studies, access: signedInAccess(auth), cache: dicom.retrieveCache }),
  );
  if (deps.upload) http.mount(createUploadsRouter(deps.upload.uploads, auth));
  // Last: the web console answers every address the APIs above left alone.
  http.mount(createWebAppRouter());
  await listening(config, 'http', () => deps.parts.start('http', http, (server) => server.start()));
}

/** Which process answered: a load balancer's /health must say so when several serve one address. */
function processHealth(processes: ProcessTable | undefined): Record<string, string | number | boolean> {
  const self = processes?.self;
  if (self === undefined) return { ok: true, pid: process.pid };
  return {
    ok: true,
    instance: self.instance,
    pid: self.pid,
    worker: self.worker ?? 0,
    host: self.host,
    uptimeSeconds: self.uptimeSeconds,
    eventLoopLagP99Ms: self.eventLoopLagMs.p99,
    leases: self.leases.join(' '),
  };
}

/** Every process of the installation, as of this one's last heartbeat: any process can be the one scraped. */
function processMetrics(processes: ProcessTable): void {
  const labelled = (value: (row: ProcessRecord) => number) => () =>
    processes.latest.map((row) => ({
      labels: { instance: row.instance, pid: String(row.pid), worker: String(row.worker ?? 0), host: row.host },
      value: value(row),
    }));
  collectedGauge(
    'hub_process_uptime_seconds',
    'Seconds since each hub process started.',
    labelled((r) => r.uptimeSeconds),
  );
  collectedGauge(
    'hub_process_event_loop_lag_p99_seconds',
    'Event-loop delay of each hub process, 99th percentile over its last heartbeat interval.',
    labelled((r) => r.eventLoopLagMs.p99 / 1000),
  );
  collectedGauge(
    'hub_process_leases_held',
    'Leases each hub process holds (queues, singletons).',
    labelled((r) => r.leases.length),
  );
}

/** Without configured tokens the hub still does not run open: it uses (and on first start writes) an admin token. */
async function tokensFor(config: HubConfig, log: Logger): Promise<TokenEntry[]> {
  if (config.auth.tokens.length > 0) return config.auth.tokens;
  const { entry, file } = await generatedAdminToken(config.dataDir);
  log.warn('no auth.tokens configured: using the generated admin token', { file: path.relative(process.cwd(), file) });
  return [entry];
}

function dicomListener(dicom: DicomPart): Array<{ name: string; up: boolean; detail?: string }> {
  const health = dicom.health();
  if (health['enabled'] === false) return [];
  return [{ name: 'dicom', up: health['ok'] === true, detail: `${health['aeTitle']}@${health['port']}` }];
}

async function channelHealth(engine: ChannelEngine): Promise<Record<string, number | boolean>> {
  const channels = engine.channelStatuses();
  const failed = channels.filter((c) => c.status === 'failed').length;
  return { ok: failed === 0, deployed: channels.filter((c) => c.status === 'deployed').length, failed };
}

function startupHealth(deployed: boolean): Record<string, string | boolean> {
  return { ok: deployed, phase: deployed ? 'running' : 'deploying channels' };
}
