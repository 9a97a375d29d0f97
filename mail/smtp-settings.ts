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
  /** A relay with a private CA (`caFile`, PEM) or another name on its certificate; the certificate is always verified. */
  tls?: { caFile?: string; servername?: string };
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
    expectKeys(tls, join(at, 'tls'), ['caFile', 'servername']);
    const caFile = optionalString(tls['caFile'], join(at, 'tls.caFile'));
    const servername = optionalString(tls['servername'], join(at, 'tls.servername'));
    settings.tls = { ...(caFile === undefined ? {} : { caFile }), ...(servername === undefined ? {} : { servername }) };
  }
  return settings;
}
