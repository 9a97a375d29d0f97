// The `tls` and `limits` settings every listener accepts (hub.yaml's http and dicom sections, an MLLP source's
// channel settings), read from untrusted input with one meaning everywhere. Each protocol passes its own safe
// defaults; a key it does not enforce is refused, so a setting never silently does nothing.
import { ValidationError, expectInteger, expectKeys, expectObject, expectString, join } from './validate.ts';
import type { TlsSettings } from './listener.ts';

export function parseTlsSettings(input: unknown, path: string): TlsSettings | undefined {
  if (input === undefined || input === null) return undefined;
  const value = expectObject(input, path);
  expectKeys(value, path, ['certFile', 'keyFile', 'caFile']);
  if (value['certFile'] === undefined)
    throw new ValidationError(join(path, 'certFile'), 'required: the PEM certificate file');
  if (value['keyFile'] === undefined)
    throw new ValidationError(join(path, 'keyFile'), 'required: the PEM private key file');
  const settings: TlsSettings = {
    certFile: expectString(value['certFile'], join(path, 'certFile')),
    keyFile: expectString(value['keyFile'], join(path, 'keyFile')),
  };
  if (value['caFile'] !== undefined) settings.caFile = expectString(value['caFile'], join(path, 'caFile'));
  return settings;
}

/** One numeric limit: its lowest and highest sane value; a default comes from the caller. */
export interface LimitRange {
  min: number;
  max: number;
}

/** Reads `limits` with only the keys in `defaults`; every value an integer in its range. */
export function parseLimits<K extends string>(
  input: unknown,
  path: string,
  defaults: Record<K, number>,
  ranges: NoInfer<Record<K, LimitRange>>,
): Record<K, number> {
  const keys = Object.keys(defaults) as K[];
  const out = { ...defaults };
  if (input === undefined || input === null) return out;
  const value = expectObject(input, path);
  expectKeys(value, path, keys);
  for (const key of keys) {
    if (value[key] === undefined) continue;
    out[key] = expectInteger(value[key], join(path, key), ranges[key].min, ranges[key].max);
  }
  return out;
}

const second = 1000;
const mib = 2 ** 20;

/** Ranges shared by every listener's limit keys. */
export const limitRanges = {
  maxConnections: { min: 1, max: 100_000 },
  maxConnectionsPerAddress: { min: 1, max: 100_000 },
  idleTimeoutMs: { min: second, max: 24 * 3600 * second },
  readTimeoutMs: { min: 100, max: 3600 * second },
  maxBufferedBytes: { min: 64 * 1024, max: 16 * 1024 * mib },
  maxAssociations: { min: 1, max: 10_000 },
  associationRequestTimeoutMs: { min: 100, max: 3600 * second },
  maxPduLength: { min: 4096, max: 64 * mib },
  headersTimeoutMs: { min: 100, max: 3600 * second },
  requestTimeoutMs: { min: 100, max: 24 * 3600 * second },
} as const satisfies Record<string, LimitRange>;
