// Upload account passwords are kept as scrypt hashes (RFC 7914) in the PHC string format
// (`$scrypt$ln=14,r=8,p=1$<salt>$<hash>`), so hub.yaml never holds a password. Run this file to make one:
//   node upload/password-hash.ts        (reads the password from stdin, prints the hash)
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { text } from 'node:stream/consumers';

const phc = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function derive(password: string, salt: Buffer, ln: number, r: number, p: number, length: number): Promise<Buffer> {
  const N = 2 ** ln;
  return new Promise((resolve, reject) => {
    // Node's default maxmem (32 MiB) is below what ln=15,r=8 needs (128·N·r bytes).
    scrypt(password, salt, length, { N, r, p, maxmem: 256 * N * r + 2 ** 20 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, ln = 14, r = 8, p = 1): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, ln, r, p, 32);
  return `$scrypt$ln=${ln},r=${r},p=${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time comparison; false for a malformed hash (the config loader refuses those already). */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const match = phc.exec(hash);
  if (!match) return false;
  const [, ln, r, p, salt, expected] = match;
  const want = Buffer.from(expected ?? '', 'base64');
  if (want.length < 16 || Number(ln) > 20) return false;
  const got = await derive(password, Buffer.from(salt ?? '', 'base64'), Number(ln), Number(r), Number(p), want.length);
  return timingSafeEqual(got, want);
}

if (import.meta.main) {
  const password = (await text(process.stdin)).replace(/\r?\n$/, '');
  if (password.length === 0) {
    process.stderr.write('usage: printf %s "$PASSWORD" | node upload/password-hash.ts\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(`${await hashPassword(password)}\n`);
  }
}
