// The web console's sign-in, wired: users, sessions and the sign-in throttle on the hub's store, the session
// options every /api router's authentication takes, and the first admin. On a first start (no users) the hub
// creates `admin` with a random password in <dataDir>/admin-password (owner-only), which must be changed at the
// first sign-in; the log names the file, never the password.
import type Router from '@koa/router';
import path from 'node:path';
import type { AuditLog } from '../admin-ui/audit.ts';
import { createAuditRouter } from '../admin-ui/audit-routes.ts';
import { createChannelRouter } from '../admin-ui/channel-routes.ts';
import { createMessageRouter } from '../admin-ui/message-routes.ts';
import { createQueueRouter } from '../admin-ui/queue-routes.ts';
import { createFacilityRouter } from '../admin-ui/facility-routes.ts';
import {
  createDashboardRouter,
  type DicomPanel,
  type HubProcessState,
  type ListenerState,
} from '../admin-ui/dashboard-routes.ts';
import { randomPassword } from '../admin-ui/passwords.ts';
import { createSessionRouter, passwordChangePaths } from '../admin-ui/session-routes.ts';
import { SessionStore } from '../admin-ui/sessions.ts';
import { SignInThrottle } from '../admin-ui/sign-in-throttle.ts';
import { createUserRouter } from '../admin-ui/user-routes.ts';
import { UserStore } from '../admin-ui/users.ts';
import type { ChannelEngine } from '../channels/engine.ts';
import type { HubConfig } from '../config/hub-config.ts';
import type { ExamService } from '../exams/service.ts';
import { requireAuth, type TokenAuthenticator } from '../http/auth.ts';
import type { SessionOptions } from '../http/session-auth.ts';
import { readOrCreate } from '../runtime/file-once.ts';
import type { Logger } from '../runtime/log.ts';
import { isDuplicateKeyError, type HubDb } from '../store/db.ts';

export interface ConsoleHubParts {
  engine: ChannelEngine;
  exams: ExamService;
  /** Listeners besides the channels' sources (the DICOM SCP), for the dashboard. */
  listeners?: () => Promise<ListenerState[]>;
  /** The DICOM listener's panel on the dashboard. */
  dicom?: () => Promise<DicomPanel | undefined>;
  /** The hub processes, for the dashboard. */
  processes?: () => Promise<HubProcessState[]>;
}

export interface ConsoleAuth {
  users: UserStore;
  sessions: SessionStore;
  sessionOptions: SessionOptions;
  /** The console's routers; those over the engine and the facilities only when they are given. */
  routers(auth: TokenAuthenticator, audit: AuditLog, hub?: ConsoleHubParts): Router[];
}

/** `now` is for tests, which move the clock past an expiry instead of waiting for it. */
export async function openConsoleAuth(
  config: Pick<HubConfig, 'dataDir' | 'auth'>,
  db: HubDb,
  log: Logger,
  now: () => number = Date.now,
): Promise<ConsoleAuth> {
  const users = new UserStore(db);
  const sessions = new SessionStore(db, users, config.auth.sessions, now);
  await sessions.open();
  await firstAdmin(config.dataDir, users, log);
  const throttle = new SignInThrottle(config.auth.signIn, now);
  const sessionOptions: SessionOptions = { resolver: sessions, passwordChangePaths };
  return {
    users,
    sessions,
    sessionOptions,
    routers: (authenticator, audit, hub) => {
      const auth = requireAuth(authenticator, sessionOptions);
      const engineRouters = hub
        ? [
            createChannelRouter(hub.engine, audit, auth),
            createMessageRouter({ engine: hub.engine, facilities: hub.exams.facilities, audit, auth }),
            createQueueRouter(hub.engine, audit, auth),
            createFacilityRouter(hub.exams, audit, auth),
            createDashboardRouter({
              engine: hub.engine,
              auth,
              ...(hub.listeners ? { listeners: hub.listeners } : {}),
              ...(hub.dicom ? { dicom: hub.dicom } : {}),
              ...(hub.processes ? { processes: hub.processes } : {}),
            }),
          ]
        : [];
      return [
        ...engineRouters,
        createSessionRouter({ users, sessions, throttle, audit, auth, log: log.child({ part: 'console' }) }),
        createUserRouter({ users, sessions, audit, auth }),
        createAuditRouter(audit, auth),
      ];
    },
  };
}

/** Without users, `admin` with the password of <dataDir>/admin-password, written with a new one if missing. */
async function firstAdmin(dataDir: string, users: UserStore, log: Logger): Promise<void> {
  if ((await users.count()) > 0) return;
  const file = path.join(dataDir, 'admin-password');
  const password = await readOrCreate(file, randomPassword);
  try {
    await users.create({ username: 'admin', name: 'Administrator', roles: ['admin'], password });
  } catch (error) {
    // Another hub process on the same store created it first.
    if (!isDuplicateKeyError(error)) throw error;
    return;
  }
  log.info('created the console user admin; its first password is in the file, to be changed at first sign-in', {
    file: path.relative(process.cwd(), file),
  });
}
