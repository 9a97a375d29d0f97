// The `tls` and `limits` settings every listener accepts (hub.yaml's http and dicom sections, an MLLP source's
// channel settings), read from untrusted input with one meaning everywhere. Each protocol passes its own safe
// defaults; a key it does not enforce is refused, so a setting never silently does nothing.
import { ValidationError, expectInteger, expectKeys, expectObject, expectString, join } from './validate.ts';
import type { TlsSettings } from './listener.ts';
import type { SenderTlsSettings } from './tls-sender.ts';

export function parseTlsSettings(input: unknown, path: string): TlsSettings | undefined {
  const read = readTls(input, path, 'listener');
  if (read === undefined) return undefined;
  const settings: TlsSettings = { certFile: read.certFile!, keyFile: read.keyFile! };
  if (read.caFile !== undefined) settings.caFile = read.caFile;
  return settings;
}

/** A sender's `tls` (MLLP destination, DICOM SCU): the peer is always verified; a client certificate is optional. */
export function parseSenderTlsSettings(input: unknown, path: string): SenderTlsSettings | undefined {
  return readTls(input, path, 'sender');
}

/**
 * The one reader of a `tls` object. A listener must have its certificate and key (caFile then asks clients for
 * theirs); a sender may name the peer's CA (default: Node's bundled CAs), a client certificate and key (both or
 * neither) and the name to check the peer's certificate against (default: the host, when it is a name).
 */
function readTls(input: unknown, path: string, side: 'listener' | 'sender'): SenderTlsSettings | undefined {
  if (input === undefined || input === null) return undefined;
  const value = expectObject(input, path);
  expectKeys(value, path, side === 'listener' ? ['certFile', 'keyFile', 'caFile'] : senderKeys);
  const out: SenderTlsSettings = {};
  for (const key of senderKeys) {
    if (value[key] !== undefined) out[key] = expectString(value[key], join(path, key));
  }
  const pair = side === 'listener' || out.certFile !== undefined || out.keyFile !== undefined;
  if (pair && out.certFile === undefined)
    throw new ValidationError(join(path, 'certFile'), 'required: the PEM certificate file');
  if (pair && out.keyFile === undefined)
    throw new ValidationError(join(path, 'keyFile'), 'required: the PEM private key file');
  return out;
}

const senderKeys = ['caFile', 'certFile', 'keyFile', 'servername'] as const;

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
