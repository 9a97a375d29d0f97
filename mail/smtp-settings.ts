// The settings of an SMTP relay, shared by the `smtp` destination and the destinations that send reports and
// dispatch notices by e-mail. Secrets are never in the settings: `auth` names the environment variables.
import { expectEmailAddress } from '../runtime/addresses.ts';
import {
  ValidationError,
  expectInteger,
  expectKeys,
  expectObject,
  expectOneOf,
  expectPort,
  expectString,
  join,
  optionalString,
} from '../runtime/validate.ts';

export interface SmtpSettings {
  host: string;
  port: number;
  security: 'starttls' | 'tls' | 'none';
  auth?: { userEnv: string; passwordEnv: string };
  /** Only for a relay with a private CA or name: passed to node:tls. */
  tls?: { servername?: string; rejectUnauthorized?: boolean };
  from: string;
  timeoutMs: number;
}

export const smtpSettingKeys = ['host', 'port', 'security', 'auth', 'tls', 'from', 'timeoutMs'] as const;

const envName = /^[A-Z_][A-Z0-9_]*$/;

export function parseSmtpSettings(value: Record<string, unknown>, at: string): SmtpSettings {
  const settings: SmtpSettings = {
    host: expectString(value['host'], join(at, 'host')),
    port: expectPort(value['port'], join(at, 'port')),
    security: expectOneOf(value['security'] ?? 'starttls', join(at, 'security'), ['starttls', 'tls', 'none'] as const),
    from: expectEmailAddress(value['from'], join(at, 'from')),
    timeoutMs: expectInteger(value['timeoutMs'] ?? 30_000, join(at, 'timeoutMs'), 100, 600_000),
  };
  if (value['auth'] !== undefined) {
    const auth = expectObject(value['auth'], join(at, 'auth'));
    expectKeys(auth, join(at, 'auth'), ['userEnv', 'passwordEnv']);
    const userEnv = expectString(auth['userEnv'], join(at, 'auth.userEnv'));
    const passwordEnv = expectString(auth['passwordEnv'], join(at, 'auth.passwordEnv'));
    for (const [key, name] of [
      ['userEnv', userEnv],
      ['passwordEnv', passwordEnv],
    ] as const) {
      if (!envName.test(name))
        throw new ValidationError(join(at, `auth.${key}`), 'expected an environment variable name');
    }
    settings.auth = { userEnv, passwordEnv };
  }
  if (value['tls'] !== undefined) {
    const tls = expectObject(value['tls'], join(at, 'tls'));
    expectKeys(tls, join(at, 'tls'), ['servername', 'rejectUnauthorized']);
    const servername = optionalString(tls['servername'], join(at, 'tls.servername'));
    const reject = tls['rejectUnauthorized'];
    if (reject !== undefined && typeof reject !== 'boolean')
      throw new ValidationError(join(at, 'tls.rejectUnauthorized'), 'expected true or false');
    settings.tls = {
      ...(servername === undefined ? {} : { servername }),
      ...(reject === undefined ? {} : { rejectUnauthorized: reject }),
    };
  }
  return settings;
}
