// The `upload:` section of hub.yaml: the SFTP and FTPS listeners technicians upload studies to, and their accounts.
// Each account belongs to one facility (the facility stands for the calling AE of a C-STORE) and holds only a
// scrypt hash of its password (PHC string format) and/or SSH public keys: the config file never holds a password.
import path from 'node:path';
import type { ConnectionLimits, TlsSettings } from '../runtime/listener.ts';
import { limitRanges, parseLimits, parseTlsSettings } from '../runtime/listener-settings.ts';
import {
  ValidationError,
  expectArray,
  expectBoolean,
  expectInteger,
  expectKeys,
  expectObject,
  expectPort,
  expectString,
  join,
  type Plain,
} from '../runtime/validate.ts';

export interface UploadAccountConfig {
  user: string;
  facility: string;
  /** `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt base64>$<hash base64>`. */
  passwordHash?: string;
  /** OpenSSH public key lines (`ssh-ed25519 AAAA… comment`). */
  publicKeys: string[];
}

export interface UploadConfig {
  /** Absolute; each account uploads into <dir>/<user>/, refused files go to <dir>/.errors/<user>/. */
  dir: string;
  accounts: UploadAccountConfig[];
  /** Failed logins from one address for one user before that pair is locked, and for how long. */
  lockout: { maxFailures: number; lockSeconds: number; failureDelayMs: number };
  /** A single upload (a file or a ZIP) and what a ZIP may unpack to. */
  maxFileBytes: number;
  zip: { maxEntries: number; maxBytes: number };
  sftp: { enabled: boolean; host: string; port: number; hostKeyFile?: string; limits: ConnectionLimits };
  ftps: {
    enabled: boolean;
    host: string;
    port: number;
    /** Passive data ports (PASV/EPSV) are taken from this range. */
    passivePorts: { min: number; max: number };
    /** The address told to clients in a PASV answer; default `host`. */
    passiveHost: string;
    /** Without it a self-signed certificate is made under <dataDir>/upload/ on first start (needs openssl). */
    tls?: TlsSettings;
    limits: ConnectionLimits;
  };
}

const defaultLimits: ConnectionLimits = { maxConnections: 50, maxConnectionsPerAddress: 10, idleTimeoutMs: 300_000 };
const userPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const phcScrypt = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;

export function parseUploadConfig(input: unknown, dataDir: string): UploadConfig {
  const value = section(input, 'upload', ['dir', 'accounts', 'lockout', 'maxFileBytes', 'zip', 'sftp', 'ftps']);
  const lockout = section(value['lockout'], 'upload.lockout', ['maxFailures', 'lockSeconds', 'failureDelayMs']);
  const zip = section(value['zip'], 'upload.zip', ['maxEntries', 'maxBytes']);
  const sftp = section(value['sftp'], 'upload.sftp', ['enabled', 'host', 'port', 'hostKeyFile', 'limits']);
  const ftps = section(value['ftps'], 'upload.ftps', [
    'enabled',
    'host',
    'port',
    'passivePorts',
    'passiveHost',
    'tls',
    'limits',
  ]);
  const ftpsHost = expectString(ftps['host'] ?? '127.0.0.1', 'upload.ftps.host');
  const tls = parseTlsSettings(ftps['tls'], 'upload.ftps.tls');
  const hostKeyFile = sftp['hostKeyFile'];
  const accounts = expectArray(value['accounts'] ?? [], 'upload.accounts').map((entry, i) =>
    account(entry, join('upload.accounts', i)),
  );
  const seen = new Set<string>();
  for (const [i, entry] of accounts.entries()) {
    if (seen.has(entry.user)) throw new ValidationError(join(join('upload.accounts', i), 'user'), 'used twice');
    seen.add(entry.user);
  }
  return {
    dir: path.resolve(dataDir, expectString(value['dir'] ?? 'uploads', 'upload.dir')),
    accounts,
    lockout: {
      maxFailures: expectInteger(lockout['maxFailures'] ?? 5, 'upload.lockout.maxFailures', 1, 1000),
      lockSeconds: expectInteger(lockout['lockSeconds'] ?? 900, 'upload.lockout.lockSeconds', 1, 86_400),
      failureDelayMs: expectInteger(lockout['failureDelayMs'] ?? 1000, 'upload.lockout.failureDelayMs', 0, 10_000),
    },
    maxFileBytes: expectInteger(value['maxFileBytes'] ?? 4 * 2 ** 30, 'upload.maxFileBytes', 1024),
    zip: {
      maxEntries: expectInteger(zip['maxEntries'] ?? 10_000, 'upload.zip.maxEntries', 1, 1_000_000),
      maxBytes: expectInteger(zip['maxBytes'] ?? 8 * 2 ** 30, 'upload.zip.maxBytes', 1024),
    },
    sftp: {
      enabled: expectBoolean(sftp['enabled'] ?? false, 'upload.sftp.enabled'),
      host: expectString(sftp['host'] ?? '127.0.0.1', 'upload.sftp.host'),
      port: expectPort(sftp['port'] ?? 2222, 'upload.sftp.port'),
      ...(hostKeyFile === undefined ? {} : { hostKeyFile: expectString(hostKeyFile, 'upload.sftp.hostKeyFile') }),
      limits: parseLimits(sftp['limits'], 'upload.sftp.limits', defaultLimits, limitRanges),
    },
    ftps: {
      enabled: expectBoolean(ftps['enabled'] ?? false, 'upload.ftps.enabled'),
      host: ftpsHost,
      port: expectPort(ftps['port'] ?? 2121, 'upload.ftps.port'),
      passivePorts: portRange(ftps['passivePorts'] ?? '50000-50100', 'upload.ftps.passivePorts'),
      passiveHost: expectString(ftps['passiveHost'] ?? ftpsHost, 'upload.ftps.passiveHost'),
      ...(tls === undefined ? {} : { tls }),
      limits: parseLimits(ftps['limits'], 'upload.ftps.limits', defaultLimits, limitRanges),
    },
  };
}

function account(input: unknown, at: string): UploadAccountConfig {
  const entry = expectObject(input, at);
  expectKeys(entry, at, ['user', 'facility', 'passwordHash', 'publicKeys']);
  const user = expectString(entry['user'], join(at, 'user'));
  // The user name is a folder name: letters, digits and . _ - only, never `..`.
  if (!userPattern.test(user) || user.includes('..'))
    throw new ValidationError(join(at, 'user'), 'expected 1-64 letters, digits, ".", "_" or "-"');
  const passwordHash = entry['passwordHash'];
  if (passwordHash !== undefined && !phcScrypt.test(expectString(passwordHash, join(at, 'passwordHash'))))
    throw new ValidationError(
      join(at, 'passwordHash'),
      'expected a scrypt hash ($scrypt$ln=…,r=…,p=…$salt$hash; make one with upload/password-hash.ts), never a password',
    );
  const publicKeys = expectArray(entry['publicKeys'] ?? [], join(at, 'publicKeys')).map((key, i) => {
    const line = expectString(key, join(join(at, 'publicKeys'), i)).trim();
    if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}( .*)?$/.test(line))
      throw new ValidationError(join(join(at, 'publicKeys'), i), 'expected an OpenSSH public key line');
    return line;
  });
  if (passwordHash === undefined && publicKeys.length === 0)
    throw new ValidationError(at, 'an account needs a passwordHash or publicKeys');
  return {
    user,
    facility: expectString(entry['facility'], join(at, 'facility')),
    ...(passwordHash === undefined ? {} : { passwordHash: passwordHash as string }),
    publicKeys,
  };
}

/** `50000-50100`, inclusive. */
function portRange(value: unknown, at: string): { min: number; max: number } {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(expectString(value, at));
  const min = Number(match?.[1]);
  const max = Number(match?.[2]);
  if (!match || min < 1024 || max > 65535 || min > max)
    throw new ValidationError(at, 'expected a port range such as 50000-50100 (1024-65535)');
  return { min, max };
}

function section(value: unknown, name: string, keys: readonly string[]): Plain {
  if (value === undefined || value === null) return {};
  const object = expectObject(value, name);
  expectKeys(object, name, keys);
  return object;
}
