// Reads config/hub.yaml (or HUB_CONFIG), applies environment overrides and checks every key, so that a mistake
// is reported at start, once, with the file, the key and the reason – never as a stack trace later.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { roles, type Role } from '../http/auth.ts';
import type { LogLevel } from '../runtime/log.ts';
import {
  ValidationError,
  expectArray,
  expectBoolean,
  expectInteger,
  expectKeys,
  expectObject,
  expectOneOf,
  expectPort,
  expectString,
  isPlain,
  join,
  type Plain,
} from '../runtime/validate.ts';
import { defaultHttpLimits } from '../http/server.ts';
import { limitRanges, parseLimits, parseTlsSettings } from '../runtime/listener-settings.ts';
import { parseConsoleAuth } from './console-auth.ts';
import { defaultDicomLimits, type HubConfig, type TokenConfig } from './hub-config.ts';
import { parseUploadConfig } from './upload-config.ts';
import { parseReadingConfig, readingKeys } from './report-config.ts';

export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export const defaultConfigFile = 'config/hub.yaml';

export async function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<HubConfig> {
  const file = env['HUB_CONFIG'] ?? defaultConfigFile;
  const text = await readConfigText(path.resolve(cwd, file), file);
  const document = parseYaml(text, file);
  try {
    return parseConfig(applyEnvironment(document, env), file, cwd);
  } catch (error) {
    if (error instanceof ValidationError) throw new ConfigError(`${file}: ${error.message}`);
    throw error;
  }
}

async function readConfigText(absolute: string, shown: string): Promise<string> {
  try {
    return await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${shown}: cannot read the config file (${code ?? 'error'})`);
  }
}

function parseYaml(text: string, file: string): Plain {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const first = document.errors[0];
  if (first) {
    const line = lineCounter.linePos(first.pos[0]);
    const where = ` (line ${line.line}, column ${line.col})`;
    throw new ConfigError(`${file}: not valid YAML${where}: ${first.message.split('\n')[0]}`);
  }
  const value: unknown = document.toJS();
  if (value === null || value === undefined) return {};
  if (!isPlain(value)) throw new ConfigError(`${file}: expected a mapping of settings at the top level`);
  return value;
}

/** Environment variables win over the file; a bad value names the variable, not the file. */
function applyEnvironment(document: Plain, env: NodeJS.ProcessEnv): Plain {
  const merged: Plain = structuredClone(document);
  const section = (name: string): Plain => {
    const current = merged[name];
    if (current === undefined || current === null) merged[name] = {};
    else if (!isPlain(current)) throw new ValidationError(name, 'expected a mapping');
    return merged[name] as Plain;
  };
  const envValue = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const dataDir = envValue('HUB_DATA_DIR');
  if (dataDir) merged['dataDir'] = dataDir;
  const logLevel = envValue('LOG_LEVEL');
  if (logLevel) merged['logLevel'] = logLevel;
  const workers = envValue('HUB_WORKERS');
  if (workers) section('hub')['workers'] = /^\d+$/.test(workers) ? Number(workers) : workers;
  const mongodbUrl = envValue('MONGODB_URL');
  if (mongodbUrl) section('store')['mongodbUrl'] = mongodbUrl;
  const host = envValue('HUB_HTTP_HOST');
  if (host) section('http')['host'] = host;
  const port = envValue('HUB_HTTP_PORT');
  if (port) {
    if (!/^\d+$/.test(port))
      throw new ValidationError('HUB_HTTP_PORT (environment)', 'expected a port number from 0 to 65535');
    section('http')['port'] = Number(port);
  }
  const dicomPort = envValue('HUB_DICOM_PORT');
  if (dicomPort) {
    if (!/^\d+$/.test(dicomPort))
      throw new ValidationError('HUB_DICOM_PORT (environment)', 'expected a port number from 0 to 65535');
    section('dicom')['port'] = Number(dicomPort);
  }
  return merged;
}

const topKeys = [
  'dataDir',
  'logLevel',
  'hub',
  'store',
  'http',
  'auth',
  'scheduler',
  'channels',
  'facilities',
  'dicom',
  'reports',
  'upload',
] as const;

export function parseConfig(input: Plain, file: string, cwd: string): HubConfig {
  expectKeys(input, '', topKeys);
  const hub = section(input, 'hub', ['workers', 'takeoverSeconds', 'threadIdleSeconds']);
  const store = section(input, 'store', ['mongodbUrl']);
  const http = section(input, 'http', ['host', 'port', 'tls', 'limits']);
  const auth = section(input, 'auth', ['tokens', 'sessions', 'signIn']);
  const scheduler = section(input, 'scheduler', ['processEveryMs']);
  const channels = section(input, 'channels', ['dir']);
  const facilities = section(input, 'facilities', ['dir']);
  const dicom = section(input, 'dicom', [
    'enabled',
    'aeTitle',
    'host',
    'port',
    'storageDir',
    'studyQuietSeconds',
    'duplicateInstances',
    'retrieveCacheMiB',
    'tls',
    'limits',
  ]);
  const reports = section(input, 'reports', ['maxAttachmentBytes', 'pdfThreads', 'pdfMaxQueued', ...readingKeys]);
  const httpTls = parseTlsSettings(http['tls'], 'http.tls');
  const dicomTls = parseTlsSettings(dicom['tls'], 'dicom.tls');
  const dataDir = path.resolve(cwd, expectString(input['dataDir'] ?? 'data', 'dataDir'));
  return {
    file,
    dataDir,
    logLevel: expectOneOf(input['logLevel'] ?? 'info', 'logLevel', logLevels),
    hub: {
      workers: workerCount(hub['workers'] ?? 1, 'hub.workers'),
      takeoverSeconds: expectInteger(hub['takeoverSeconds'] ?? 30, 'hub.takeoverSeconds', 1, 3_600),
      threadIdleSeconds: expectInteger(hub['threadIdleSeconds'] ?? 30, 'hub.threadIdleSeconds', 0, 86_400),
    },
    store: { mongodbUrl: mongodbUrl(store['mongodbUrl']) },
    http: {
      host: expectString(http['host'] ?? '127.0.0.1', 'http.host'),
      port: expectPort(http['port'] ?? 8080, 'http.port'),
      ...(httpTls === undefined ? {} : { tls: httpTls }),
      limits: parseLimits(http['limits'], 'http.limits', defaultHttpLimits, limitRanges),
    },
    auth: { tokens: tokens(auth['tokens'] ?? []), ...parseConsoleAuth(auth['sessions'], auth['signIn']) },
    scheduler: {
      processEveryMs: expectInteger(scheduler['processEveryMs'] ?? 5000, 'scheduler.processEveryMs', 100, 3_600_000),
    },
    channels: { dir: path.resolve(cwd, expectString(channels['dir'] ?? 'config/channels', 'channels.dir')) },
    facilities: { dir: path.resolve(cwd, expectString(facilities['dir'] ?? 'config/facilities', 'facilities.dir')) },
    dicom: {
      enabled: expectBoolean(dicom['enabled'] ?? true, 'dicom.enabled'),
      aeTitle: aeTitle(dicom['aeTitle'] ?? 'RSO_HUB', 'dicom.aeTitle'),
      host: expectString(dicom['host'] ?? '127.0.0.1', 'dicom.host'),
      port: expectPort(dicom['port'] ?? 11112, 'dicom.port'),
      storageDir: path.resolve(dataDir, expectString(dicom['storageDir'] ?? 'dicom', 'dicom.storageDir')),
      studyQuietSeconds: expectInteger(dicom['studyQuietSeconds'] ?? 30, 'dicom.studyQuietSeconds', 1, 86_400),
      duplicateInstances: expectOneOf(dicom['duplicateInstances'] ?? 'replace', 'dicom.duplicateInstances', [
        'replace',
        'ignore',
      ] as const),
      retrieveCacheMiB: expectInteger(dicom['retrieveCacheMiB'] ?? 64, 'dicom.retrieveCacheMiB', 0, 65_536),
      ...(dicomTls === undefined ? {} : { tls: dicomTls }),
      limits: parseLimits(dicom['limits'], 'dicom.limits', defaultDicomLimits, limitRanges),
    },
    reports: {
      maxAttachmentBytes: expectInteger(
        reports['maxAttachmentBytes'] ?? 20 * 1024 * 1024,
        'reports.maxAttachmentBytes',
        1024,
        1024 * 1024 * 1024,
      ),
      pdfThreads: expectInteger(reports['pdfThreads'] ?? 1, 'reports.pdfThreads', 1, 64),
      pdfMaxQueued: expectInteger(reports['pdfMaxQueued'] ?? 64, 'reports.pdfMaxQueued', 0, 100_000),
      ...parseReadingConfig(reports),
    },
    upload: parseUploadConfig(input['upload'], dataDir),
  };
}

/** A count of processes, or `auto`: one per CPU the machine has. */
function workerCount(value: unknown, at: string): number {
  if (value === 'auto') return Math.max(1, os.availableParallelism());
  if (typeof value === 'string') throw new ValidationError(at, 'expected a whole number from 1 to 64, or auto');
  return expectInteger(value, at, 1, 64);
}

/** PS3.5 6.2: an AE title is 1-16 characters of the default repertoire, no backslash or control characters. */
function aeTitle(value: unknown, at: string): string {
  const title = expectString(value, at);
  if (title.trim().length === 0 || title.length > 16 || !/^[\x20-\x7e]+$/.test(title) || title.includes('\\')) {
    throw new ValidationError(at, 'expected an AE title: 1 to 16 printable ASCII characters, no backslash');
  }
  return title.trim();
}

function section(input: Plain, name: string, keys: readonly string[]): Plain {
  const value = input[name];
  if (value === undefined || value === null) return {};
  const object = expectObject(value, name);
  expectKeys(object, name, keys);
  return object;
}

function mongodbUrl(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const url = expectString(value, 'store.mongodbUrl');
  if (!/^mongodb(\+srv)?:\/\//.test(url))
    throw new ValidationError('store.mongodbUrl', 'expected a mongodb:// or mongodb+srv:// URL');
  return url;
}

function tokens(value: unknown): TokenConfig[] {
  return expectArray(value, 'auth.tokens').map((entry, index) => token(entry, join('auth.tokens', index)));
}

function token(value: unknown, at: string): TokenConfig {
  const entry = expectObject(value, at);
  expectKeys(entry, at, ['name', 'sha256', 'roles', 'facilities']);
  const sha256 = expectString(entry['sha256'], join(at, 'sha256'));
  if (!/^[0-9a-f]{64}$/i.test(sha256))
    throw new ValidationError(join(at, 'sha256'), 'expected 64 hex digits (the SHA-256 of the token, not the token)');
  const roleList = expectArray(entry['roles'], join(at, 'roles')).map(
    (role, i): Role => expectOneOf(role, join(join(at, 'roles'), i), roles),
  );
  if (roleList.length === 0) throw new ValidationError(join(at, 'roles'), 'expected at least one role');
  const facilities =
    entry['facilities'] === undefined
      ? undefined
      : expectArray(entry['facilities'], join(at, 'facilities')).map((f, i) =>
          expectString(f, join(join(at, 'facilities'), i)),
        );
  return {
    name: expectString(entry['name'], join(at, 'name')),
    sha256: sha256.toLowerCase(),
    roles: roleList,
    ...(facilities ? { facilities } : {}),
  };
}
