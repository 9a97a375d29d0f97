// Console sessions in the store: the cookie holds a random id, the `sessions` collection only its SHA-256, so
// neither a copy of the store nor its backups hold a usable session. A session ends after `idleSeconds` without a
// request or `absoluteSeconds` after sign-in, whichever comes first (OWASP session management), on sign-out, and
// when its user is deleted or its password changes. The CSRF token is an HMAC of the id: stable for the session,
// never stored, and useless without the cookie.
import { createHmac, hash, randomBytes } from 'node:crypto';
import type { ResolvedSession, SessionResolver } from '../http/session-auth.ts';
import type { HubCollection, HubDb } from '../store/db.ts';
import { apiUser, type UserRecord, type UserStore } from './users.ts';

export interface SessionSettings {
  idleSeconds: number;
  absoluteSeconds: number;
}

interface SessionRecord {
  /** Hex SHA-256 of the id in the cookie. */
  _id: string;
  username: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** The earlier of idle and absolute expiry, so the store can drop dead sessions by one index. */
  expiresAt: Date;
}

export interface LiveSession extends ResolvedSession {
  record: UserRecord;
}

export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('rso-hub csrf').digest('base64url');
}

function digest(sessionId: string): string {
  return hash('sha256', sessionId, 'hex');
}

export class SessionStore implements SessionResolver {
  readonly #sessions: HubCollection<SessionRecord>;
  readonly #users: UserStore;
  readonly #settings: SessionSettings;
  readonly #now: () => number;

  constructor(db: HubDb, users: UserStore, settings: SessionSettings, now: () => number = Date.now) {
    this.#sessions = db.collection<SessionRecord>('sessions');
    this.#users = users;
    this.#settings = settings;
    this.#now = now;
  }

  async open(): Promise<void> {
    await this.#sessions.createIndex({ username: 1 });
    await this.#sessions.createIndex({ expiresAt: 1 });
  }

  /** A new session for a signed-in user; the id goes into the cookie and is not kept. */
  async create(username: string): Promise<{ id: string; csrfToken: string }> {
    const id = randomBytes(32).toString('base64url');
    const now = new Date(this.#now());
    await this.#sessions.insertOne({
      _id: digest(id),
      username,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: this.#expiry(now, now),
    });
    await this.#sessions.deleteMany({ expiresAt: { $lte: now } });
    return { id, csrfToken: csrfTokenFor(id) };
  }

  async resolve(sessionId: string): Promise<LiveSession | undefined> {
    const now = new Date(this.#now());
    const session = await this.#sessions.findOne({ _id: digest(sessionId) });
    if (!session || session.expiresAt.getTime() <= now.getTime()) return undefined;
    const record = await this.#users.get(session.username);
    if (!record) return undefined;
    // One write per request would double a console poll's cost; a renewal every 1/20 of the idle time is enough.
    if (now.getTime() - session.lastSeenAt.getTime() >= (this.#settings.idleSeconds * 1000) / 20) {
      await this.#sessions.updateOne(
        { _id: session._id },
        { $set: { lastSeenAt: now, expiresAt: this.#expiry(session.createdAt, now) } },
      );
    }
    return {
      user: apiUser(record),
      csrfToken: csrfTokenFor(sessionId),
      mustChangePassword: record.mustChangePassword,
      record,
    };
  }

  async end(sessionId: string): Promise<void> {
    await this.#sessions.deleteOne({ _id: digest(sessionId) });
  }

  /** Every session of a user, but the one kept (the session that changed its own password). */
  async endAllOf(username: string, keep?: string): Promise<void> {
    const filter = keep === undefined ? { username } : { username, _id: { $ne: digest(keep) } };
    await this.#sessions.deleteMany(filter);
  }

  #expiry(createdAt: Date, seen: Date): Date {
    const idle = seen.getTime() + this.#settings.idleSeconds * 1000;
    const absolute = createdAt.getTime() + this.#settings.absoluteSeconds * 1000;
    return new Date(Math.min(idle, absolute));
  }
}
