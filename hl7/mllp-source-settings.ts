// Settings of the `mllp` source connector, read from a channel definition (untrusted input: every key is checked
// and unknown keys are refused, with the path). The listener's own settings (tls, limits) use the shared readers
// of runtime/listener-settings.ts, so every listener takes them the same way (README, "Configuration").
import type { TlsSettings } from '../runtime/listener.ts';
import { limitRanges, parseLimits, parseTlsSettings } from '../runtime/listener-settings.ts';
import {
  expectArray,
  expectKeys,
  expectObject,
  expectOneOf,
  expectInteger,
  expectPort,
  expectString,
  join,
  ValidationError,
} from '../runtime/validate.ts';
import { defaultCharsets, type DefaultCharset } from './charset.ts';
import { parseHl7Limits, type Hl7Limits } from './message-limits.ts';

export interface MllpSourceSettings {
  host: string;
  port: number;
  /** Accepted MSH-9 values: `ORM^O01`, `ORM` or `ORM^*` (any event); empty accepts every type. */
  messageTypes: string[];
  /** Accepted MSH-12 versions, e.g. `2.3`, `2.5.1`; empty accepts every version. */
  versions: string[];
  maxFrameBytes: number;
  /** How to read a message whose MSH-18 is empty. */
  charset: DefaultCharset;
  tls?: TlsSettings;
  /** Connections, idle and read time, bytes held: what the listener enforces. */
  limits: MllpLimits;
  /** Segments, repetitions and patient identifiers one message may have (message-limits.ts). */
  messageLimits: Hl7Limits;
}

export interface MllpLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** No byte either way, and no message of ours in progress, for this long closes the connection. */
  idleTimeoutMs: number;
  /** A frame must be complete this long after its first byte (a 1 byte/s sender is dropped). */
  readTimeoutMs: number;
  /** Bytes all connections of this source may hold in unfinished and unanswered frames together. */
  maxBufferedBytes: number;
}

/** Safe defaults: an EHR keeps one or a few connections; a 16 MiB frame arrives in seconds on any link. */
export const defaultMllpLimits: MllpLimits = {
  maxConnections: 200,
  maxConnectionsPerAddress: 20,
  idleTimeoutMs: 600_000,
  readTimeoutMs: 60_000,
  maxBufferedBytes: 128 * 2 ** 20,
};

const settingKeys = [
  'host',
  'port',
  'messageTypes',
  'versions',
  'maxFrameBytes',
  'charset',
  'tls',
  'limits',
  'messageLimits',
] as const;

function stringList(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  return expectArray(value, path).map((item, i) => expectString(item, join(path, i)));
}

export function parseMllpSourceSettings(input: unknown, path: string): MllpSourceSettings {
  const value = expectObject(input, path);
  expectKeys(value, path, settingKeys);
  const messageTypes = stringList(value['messageTypes'], join(path, 'messageTypes'));
  messageTypes.forEach((type, i) => {
    if (!/^[A-Z0-9]{3}(\^([A-Z0-9]{3}|\*))?$/.test(type))
      throw new ValidationError(
        join(join(path, 'messageTypes'), i),
        'expected a message type like ORM^O01, ORM or ORM^*',
      );
  });
  return {
    host: value['host'] === undefined ? '127.0.0.1' : expectString(value['host'], join(path, 'host')),
    port: expectPort(value['port'], join(path, 'port')),
    messageTypes,
    versions: stringList(value['versions'], join(path, 'versions')),
    maxFrameBytes:
      value['maxFrameBytes'] === undefined
        ? 16 * 2 ** 20
        : expectInteger(value['maxFrameBytes'], join(path, 'maxFrameBytes'), 64, 2 ** 30),
    charset:
      value['charset'] === undefined ? 'auto' : expectOneOf(value['charset'], join(path, 'charset'), defaultCharsets),
    ...withTls(parseTlsSettings(value['tls'], join(path, 'tls'))),
    limits: parseLimits(value['limits'], join(path, 'limits'), defaultMllpLimits, limitRanges),
    messageLimits: parseHl7Limits(value['messageLimits'], join(path, 'messageLimits')),
  };
}

function withTls(tls: TlsSettings | undefined): { tls?: TlsSettings } {
  return tls === undefined ? {} : { tls };
}
