// With no tokens configured, the hub must still not run open: the first start writes a random admin token to
// <dataDir>/admin-token (owner-only), and later starts reuse it. The token itself is never logged.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashToken, type TokenEntry } from '../http/auth.ts';

export async function generatedAdminToken(dataDir: string): Promise<{ entry: TokenEntry; file: string }> {
  const file = path.join(dataDir, 'admin-token');
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch {
    token = randomBytes(24).toString('base64url');
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  }
  return { entry: { name: 'admin', sha256: hashToken(token), roles: ['admin'] }, file };
}
