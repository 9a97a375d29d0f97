// A folder on a remote SFTP server (ssh2's client), as the SFTP file writer and reader see it. The server's host key
// is pinned by its SHA-256 fingerprint (as `ssh-keygen -lf` prints it: "SHA256:<base64>"), so a server that is not
// the configured one is refused before any credential is sent. Secrets never sit in a channel definition: the
// password is named by an environment variable, the private key by a file, as the SMTP settings do.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type ssh2 from 'ssh2';
import {
  ValidationError,
  expectInteger,
  expectKeys,
  expectObject,
  expectPort,
  expectString,
  join,
  optionalString,
} from '../runtime/validate.ts';

export interface SftpRemoteSettings {
  host: string;
  port: number;
  user: string;
  /** The environment variable holding the password. */
  passwordEnv?: string;
  /** A private key file (OpenSSH or PEM, unencrypted). */
  privateKeyFile?: string;
  /** "SHA256:<base64 without padding>". */
  hostKeySha256: string;
  /** The remote folder, absolute or relative to the login folder. */
  directory: string;
  timeoutMs: number;
}

export const sftpRemoteKeys = [
  'host',
  'port',
  'user',
  'passwordEnv',
  'privateKeyFile',
  'hostKeySha256',
  'directory',
  'timeoutMs',
] as const;

export function parseSftpRemote(input: unknown, at: string): SftpRemoteSettings {
  const value = expectObject(input, at);
  expectKeys(value, at, sftpRemoteKeys);
  const passwordEnv = optionalString(value['passwordEnv'], join(at, 'passwordEnv'));
  const privateKeyFile = optionalString(value['privateKeyFile'], join(at, 'privateKeyFile'));
  if (passwordEnv === undefined && privateKeyFile === undefined)
    throw new ValidationError(at, 'expected passwordEnv or privateKeyFile');
  const hostKeySha256 = expectString(value['hostKeySha256'], join(at, 'hostKeySha256'));
  if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(hostKeySha256))
    throw new ValidationError(
      join(at, 'hostKeySha256'),
      'expected "SHA256:" and 43 base64 characters (ssh-keygen -lf)',
    );
  const host = expectString(value['host'], join(at, 'host'));
  if (host.trim() === '') throw new ValidationError(join(at, 'host'), 'expected a host name');
  return {
    host,
    port: value['port'] === undefined ? 22 : expectPort(value['port'], join(at, 'port')),
    user: expectString(value['user'], join(at, 'user')),
    ...(passwordEnv === undefined ? {} : { passwordEnv }),
    ...(privateKeyFile === undefined ? {} : { privateKeyFile }),
    hostKeySha256,
    directory: optionalString(value['directory'], join(at, 'directory')) ?? '.',
    timeoutMs: expectInteger(value['timeoutMs'] ?? 15_000, join(at, 'timeoutMs'), 100, 600_000),
  };
}

/** The fingerprint OpenSSH shows for a host key blob (RFC 4253 6.6 encoding). */
export function sha256Fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export interface SftpLink {
  sftp: ssh2.SFTPWrapper;
  close(): void;
}

/** Connects, checks the host key, logs in and opens the sftp subsystem. */
export async function openSftp(settings: SftpRemoteSettings): Promise<SftpLink> {
  const credentials: { password?: string; privateKey?: Buffer } = {};
  if (settings.privateKeyFile !== undefined) credentials.privateKey = await readFile(settings.privateKeyFile);
  if (settings.passwordEnv !== undefined) {
    const password = process.env[settings.passwordEnv];
    if (!password) throw new Error(`SFTP password missing: set ${settings.passwordEnv}`);
    credentials.password = password;
  }
  // Loaded with the first fetch: a hub without SFTP drops does not carry ssh2.
  const { default: ssh } = await import('ssh2');
  const client = new ssh.Client();
  let seenKey: string | undefined;
  return new Promise<SftpLink>((resolve, reject) => {
    const fail = (error: Error): void => {
      client.end();
      reject(
        seenKey !== undefined && seenKey !== settings.hostKeySha256
          ? new Error(`the SFTP server's host key is ${seenKey}, not the pinned ${settings.hostKeySha256}`)
          : error,
      );
    };
    client.once('error', fail);
    client.once('ready', () => {
      client.sftp((error, sftp) => {
        if (error) return fail(error);
        client.removeListener('error', fail);
        // Later transport errors surface as failed operations; this keeps them from being unhandled.
        client.on('error', () => undefined);
        resolve({ sftp, close: () => client.end() });
      });
    });
    client.connect({
      host: settings.host,
      port: settings.port,
      username: settings.user,
      readyTimeout: settings.timeoutMs,
      hostVerifier: (key: Buffer) => {
        seenKey = sha256Fingerprint(key);
        return seenKey === settings.hostKeySha256;
      },
      ...credentials,
    });
  });
}

/** An ssh2 SFTP call as a promise. */
export function sftpCall<T>(start: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value as T)));
  });
}
