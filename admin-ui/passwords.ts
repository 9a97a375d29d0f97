// Password hashes for console users: scrypt (RFC 7914) with a random salt per password, stored as
// `scrypt$N$r$p$salt$hash` so the cost can rise later without invalidating stored hashes. N=2^15, r=8 costs about
// 32 MiB and a few tens of milliseconds per check: slow for a guesser, cheap for one sign-in.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const cost = { N: 32768, r: 8, p: 1 } as const;
const keyLength = 32;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 128 * (options.N ?? cost.N) * (options.r ?? cost.r) * 2;
    scrypt(password.normalize('NFC'), salt, keyLength, { ...options, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** A hash no password matches, checked for unknown users so the answer takes as long as for known ones. */
export const unmatchableHash = `scrypt$${cost.N}$${cost.r}$${cost.p}$${randomBytes(16).toString('base64url')}$${randomBytes(keyLength).toString('base64url')}`;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || salt === undefined || key === undefined) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), { N: +n, r: +r, p: +p });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** 18 random bytes: 24 base64url characters, about 144 bits. */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Long enough to resist guessing under the sign-in throttle; length over composition rules (NIST SP 800-63B 5.1.1). */
export function passwordProblem(password: string): string | undefined {
  if ([...password].length < 10) return 'expected at least 10 characters';
  if (password.length > 1024) return 'expected at most 1024 characters';
  return undefined;
}
