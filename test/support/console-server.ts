// The console's API in this process, on the embedded store in a temp dir, with a clock the test moves: what the
// session, user and audit tests need without starting a whole hub (test/admin-ui/first-admin.test.ts does that).
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import Router from '@koa/router';
import { AuditLog } from '../../admin-ui/audit.ts';
import { openConsoleAuth, type ConsoleAuth } from '../../composition/console.ts';
import { defaultConsoleAuth, type ConsoleAuthConfig } from '../../config/console-auth.ts';
import { requireAuth, requireRole, TokenAuthenticator, hashToken } from '../../http/auth.ts';
import { HttpServer } from '../../http/server.ts';
import { createLogger, setLogLevel } from '../../runtime/log.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';
import { tempDir } from './hub-process.ts';

export interface ConsoleServer {
  url: string;
  clock: { now: number };
  console: ConsoleAuth;
  audit: AuditLog;
  store: EmbeddedStore;
  adminPassword: string;
  stop(): Promise<void>;
}

export interface Deps {
  store: EmbeddedStore;
  audit: AuditLog;
}

export const bearerToken = 'console-test-token';

export async function startConsoleServer(
  settings: Partial<ConsoleAuthConfig> = {},
  extra: (mount: (router: Router) => void, auth: ReturnType<typeof requireAuth>, deps: Deps) => void = () => {},
): Promise<ConsoleServer> {
  const dataDir = await tempDir('console');
  const store = new EmbeddedStore(path.join(dataDir, 'hub.sqlite'));
  setLogLevel('warn');
  const log = createLogger({ test: 'console' });
  const clock = { now: Date.parse('2026-01-05T08:00:00Z') };
  const auth = { tokens: [], ...defaultConsoleAuth, ...settings };
  const consoleAuth = await openConsoleAuth({ dataDir, auth }, store.db, log, () => clock.now);
  const audit = new AuditLog(store.db);
  await audit.open();
  const authenticator = new TokenAuthenticator([{ name: 'system', sha256: hashToken(bearerToken), roles: ['admin'] }]);
  const http = new HttpServer({ host: '127.0.0.1', port: 0, log });
  for (const router of consoleAuth.routers(authenticator, audit)) http.mount(router);
  const guarded = requireAuth(authenticator, consoleAuth.sessionOptions);
  // A route that changes nothing but needs the admin role: what CSRF and role checks are tried on.
  const probe = new Router({ prefix: '/api/probe' });
  probe.use(guarded);
  probe.get('/', (ctx) => {
    ctx.body = { ok: true };
  });
  probe.post('/', requireRole('admin', 'analyst'), (ctx) => {
    ctx.body = { changed: true };
  });
  http.mount(probe);
  extra((router) => http.mount(router), guarded, { store, audit });
  await http.start();
  const adminPassword = (await readFile(path.join(dataDir, 'admin-password'), 'utf8')).trim();
  const server: ConsoleServer = {
    url: `http://127.0.0.1:${http.port}`,
    clock,
    console: consoleAuth,
    audit,
    store,
    adminPassword,
    async stop() {
      await http.stop();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
