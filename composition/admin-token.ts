// With no tokens configured, the hub must still not run open: the first start writes a random admin token to
// <dataDir>/admin-token (owner-only), and later starts reuse it. The token itself is never logged.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { hashToken, type TokenEntry } from '../http/auth.ts';
import { readOrCreate } from '../runtime/file-once.ts';

export async function generatedAdminToken(dataDir: string): Promise<{ entry: TokenEntry; file: string }> {
  const file = path.join(dataDir, 'admin-token');
  const token = await readOrCreate(file, () => randomBytes(24).toString('base64url'));
  return { entry: { name: 'admin', sha256: hashToken(token), roles: ['admin'] }, file };
}
