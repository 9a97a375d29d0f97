// Console users: people who sign in with a user name and password (systems keep bearer tokens, http/auth.ts).
// Stored in the `users` collection under their lower-cased user name, with a scrypt hash (admin-ui/passwords.ts)
// that never leaves this file: every answer goes through `publicUser`.
import { apiRoles, type ApiUser, type Role } from '../http/auth.ts';
import type { HubCollection, HubDb } from '../store/db.ts';
import {
  ValidationError,
  expectArray,
  expectKeys,
  expectObject,
  expectOneOf,
  expectString,
  join,
} from '../runtime/validate.ts';
import { hashPassword, passwordProblem, unmatchableHash, verifyPassword } from './passwords.ts';

export interface UserRecord {
  _id: string;
  name: string;
  roles: Role[];
  facilities?: string[];
  passwordHash: string;
  mustChangePassword: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** What the API answers about a user. */
export interface PublicUser {
  username: string;
  name: string;
  roles: Role[];
  facilities?: string[];
  mustChangePassword: boolean;
}

export function publicUser(record: UserRecord): PublicUser {
  const { _id, name, roles, facilities, mustChangePassword } = record;
  return { username: _id, name, roles, ...(facilities ? { facilities } : {}), mustChangePassword };
}

/** The identity the rest of the API sees: `name` is the user name, the one audit entries record. */
export function apiUser(record: UserRecord): ApiUser {
  return { name: record._id, roles: record.roles, ...(record.facilities ? { facilities: record.facilities } : {}) };
}

export interface NewUser {
  username: string;
  name: string;
  roles: Role[];
  facilities?: string[];
  password: string;
}

export interface UserChange {
  name?: string;
  roles?: Role[];
  /** null: no longer limited to facilities. */
  facilities?: string[] | null;
  /** An admin's reset: the user must choose a new one at the next sign-in. */
  password?: string;
}

const usernamePattern = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

export function parseUsername(value: unknown, at: string): string {
  const username = expectString(value, at).trim().toLowerCase();
  if (!usernamePattern.test(username))
    throw new ValidationError(at, 'expected 1 to 64 letters, digits, dots, dashes, underscores or @');
  return username;
}

function password(value: unknown, at: string): string {
  const text = expectString(value, at);
  const problem = passwordProblem(text);
  if (problem) throw new ValidationError(at, problem);
  return text;
}

function roleList(value: unknown, at: string): Role[] {
  const list = expectArray(value, at).map((role, i) => expectOneOf(role, join(at, i), apiRoles));
  if (list.length === 0) throw new ValidationError(at, 'expected at least one role');
  return [...new Set(list)];
}

function facilityList(value: unknown, at: string): string[] {
  return expectArray(value, at).map((f, i) => expectString(f, join(at, i)));
}

export function parseNewUser(input: unknown): NewUser {
  const body = expectObject(input, '');
  expectKeys(body, '', ['username', 'name', 'roles', 'facilities', 'password']);
  const username = parseUsername(body['username'], 'username');
  return {
    username,
    name: body['name'] === undefined ? username : expectString(body['name'], 'name'),
    roles: roleList(body['roles'], 'roles'),
    ...(body['facilities'] === undefined ? {} : { facilities: facilityList(body['facilities'], 'facilities') }),
    password: password(body['password'], 'password'),
  };
}

export function parseUserChange(input: unknown): UserChange {
  const body = expectObject(input, '');
  expectKeys(body, '', ['name', 'roles', 'facilities', 'password']);
  const change: UserChange = {};
  if (body['name'] !== undefined) change.name = expectString(body['name'], 'name');
  if (body['roles'] !== undefined) change.roles = roleList(body['roles'], 'roles');
  if (body['facilities'] !== undefined)
    change.facilities = body['facilities'] === null ? null : facilityList(body['facilities'], 'facilities');
  if (body['password'] !== undefined) change.password = password(body['password'], 'password');
  return change;
}

export function parseNextPassword(value: unknown, at: string): string {
  return password(value, at);
}

export class UserStore {
  readonly #users: HubCollection<UserRecord>;

  constructor(db: HubDb) {
    this.#users = db.collection<UserRecord>('users');
  }

  async count(): Promise<number> {
    return this.#users.countDocuments({});
  }

  async list(): Promise<UserRecord[]> {
    return this.#users.find({}).sort({ _id: 1 }).toArray();
  }

  async get(username: string): Promise<UserRecord | undefined> {
    return (await this.#users.findOne({ _id: username.toLowerCase() })) ?? undefined;
  }

  /** Throws a duplicate-key error (store/db.ts isDuplicateKeyError) when the user name is taken. */
  async create(user: NewUser, mustChangePassword = true): Promise<UserRecord> {
    const now = new Date();
    const record: UserRecord = {
      _id: user.username,
      name: user.name,
      roles: user.roles,
      ...(user.facilities ? { facilities: user.facilities } : {}),
      passwordHash: await hashPassword(user.password),
      mustChangePassword,
      createdAt: now,
      updatedAt: now,
    };
    await this.#users.insertOne(record);
    return record;
  }

  async update(username: string, change: UserChange): Promise<UserRecord | undefined> {
    const set: Partial<UserRecord> = { updatedAt: new Date() };
    if (change.name !== undefined) set.name = change.name;
    if (change.roles !== undefined) set.roles = change.roles;
    if (Array.isArray(change.facilities)) set.facilities = change.facilities;
    if (change.password !== undefined) {
      set.passwordHash = await hashPassword(change.password);
      set.mustChangePassword = true;
    }
    const update = change.facilities === null ? { $set: set, $unset: { facilities: '' as const } } : { $set: set };
    return (await this.#users.findOneAndUpdate({ _id: username }, update, { returnDocument: 'after' })) ?? undefined;
  }

  /** The user's own change: the new password stands, nothing more is asked. */
  async setOwnPassword(username: string, next: string): Promise<void> {
    const passwordHash = await hashPassword(next);
    await this.#users.updateOne(
      { _id: username },
      { $set: { passwordHash, mustChangePassword: false, updatedAt: new Date() } },
    );
  }

  async delete(username: string): Promise<boolean> {
    return (await this.#users.deleteOne({ _id: username })).deletedCount === 1;
  }

  /** The user when the password is right. An unknown user costs the same scrypt run as a known one. */
  async verify(username: string, password: string): Promise<UserRecord | undefined> {
    const record = usernamePattern.test(username.toLowerCase()) ? await this.get(username) : undefined;
    const matches = await verifyPassword(password, record?.passwordHash ?? unmatchableHash);
    return matches ? record : undefined;
  }
}
