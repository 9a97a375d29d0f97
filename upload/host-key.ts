// The SFTP server's host key: the configured file, or an ECDSA P-256 key made on first start under the data dir and
// kept (mode 0600) so clients see the same host on every start; the public half is written beside it (`.pub`, an
// OpenSSH line) for operators to hand out for known_hosts. Made with node:crypto as a SEC1 PEM, which ssh2 reads:
// ssh2 1.17's own generateKeyPairSync('ed25519') drops a public key's leading zero bytes (1 key in 256 is corrupt).
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';

export async function hostKey(configured: string | undefined, dataDir: string): Promise<Buffer> {
  const file = configured ?? path.join(dataDir, 'upload', 'ssh_host_ecdsa_key');
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || configured !== undefined) throw error;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('cannot read the generated host key');
  // 'wx': two hubs starting at once on one data dir must not each write a key; the loser reads the winner's.
  try {
    await writeFile(file, privateKey, { mode: 0o600, flag: 'wx', flush: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFile(file);
    throw error;
  }
  await writeFile(`${file}.pub`, `${parsed.type} ${parsed.getPublicSSH().toString('base64')} rso-hub\n`);
  return Buffer.from(privateKey);
}
