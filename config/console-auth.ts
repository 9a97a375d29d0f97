// The console's sign-in settings in hub.yaml: `auth.sessions` (idle and absolute expiry of a session) and
// `auth.signIn` (how wrong passwords are slowed and locked out). Defaults follow OWASP's session guidance: 30
// minutes idle, 12 hours at most; three free failures, then doubling waits, locked for 15 minutes at ten.
import { expectInteger, expectKeys, expectObject, join, ValidationError } from '../runtime/validate.ts';

export interface ConsoleAuthConfig {
  sessions: { idleSeconds: number; absoluteSeconds: number };
  signIn: { freeFailures: number; maxFailures: number; lockSeconds: number };
}

export const defaultConsoleAuth: ConsoleAuthConfig = {
  sessions: { idleSeconds: 1800, absoluteSeconds: 43_200 },
  signIn: { freeFailures: 3, maxFailures: 10, lockSeconds: 900 },
};

function part(value: unknown, at: string, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  const object = expectObject(value, at);
  expectKeys(object, at, keys);
  return object;
}

export function parseConsoleAuth(sessionsInput: unknown, signInInput: unknown): ConsoleAuthConfig {
  const s = part(sessionsInput, 'auth.sessions', ['idleSeconds', 'absoluteSeconds']);
  const d = defaultConsoleAuth;
  const idleSeconds = expectInteger(
    s['idleSeconds'] ?? d.sessions.idleSeconds,
    'auth.sessions.idleSeconds',
    1,
    604_800,
  );
  const absoluteSeconds = expectInteger(
    s['absoluteSeconds'] ?? d.sessions.absoluteSeconds,
    'auth.sessions.absoluteSeconds',
    1,
    2_592_000,
  );
  if (absoluteSeconds < idleSeconds)
    throw new ValidationError('auth.sessions.absoluteSeconds', 'expected at least auth.sessions.idleSeconds');
  const g = part(signInInput, 'auth.signIn', ['freeFailures', 'maxFailures', 'lockSeconds']);
  const at = (key: string): string => join('auth.signIn', key);
  const freeFailures = expectInteger(g['freeFailures'] ?? d.signIn.freeFailures, at('freeFailures'), 0, 100);
  const maxFailures = expectInteger(g['maxFailures'] ?? d.signIn.maxFailures, at('maxFailures'), 1, 1000);
  if (maxFailures <= freeFailures) throw new ValidationError(at('maxFailures'), 'expected more than freeFailures');
  const lockSeconds = expectInteger(g['lockSeconds'] ?? d.signIn.lockSeconds, at('lockSeconds'), 1, 86_400);
  return { sessions: { idleSeconds, absoluteSeconds }, signIn: { freeFailures, maxFailures, lockSeconds } };
}
