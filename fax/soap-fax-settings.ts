// The settings of a SOAP fax gateway. Every gateway names its operations and fields its own way, so the WSDL, the
// two operations and the field names are configuration; the defaults are those of config/wsdl/fax-gateway.wsdl.
import {
  ValidationError,
  expectArray,
  expectInteger,
  expectKeys,
  expectObject,
  expectString,
  join,
  optionalString,
} from '../runtime/validate.ts';

export interface SoapFaxSettings {
  /** Path (relative to the hub's working directory) or URL of the gateway's WSDL. */
  wsdl: string;
  /** The service address; the WSDL's own address is usually the production one. */
  endpoint: string;
  operations: { send: string; status: string };
  fields: {
    recipient: string;
    cover: string;
    fileName: string;
    document: string;
    /** In the send answer and the status request. */
    jobId: string;
    status: string;
    detail: string;
  };
  /** Status words that are final; any other word means the gateway is still at it. */
  delivered: string[];
  failed: string[];
  /** A fault whose code or string contains this (case-insensitive) is a busy gateway: retried, not failed. */
  busyFault: string;
  pollIntervalMs: number;
  giveUpAfterMs: number;
  timeoutMs: number;
}

export const soapFaxKeys = [
  'wsdl',
  'endpoint',
  'operations',
  'fields',
  'delivered',
  'failed',
  'busyFault',
  'pollIntervalMs',
  'giveUpAfterMs',
  'timeoutMs',
] as const;

const defaultFields: SoapFaxSettings['fields'] = {
  recipient: 'recipient',
  cover: 'coverText',
  fileName: 'fileName',
  document: 'document',
  jobId: 'jobId',
  status: 'status',
  detail: 'detail',
};

function words(value: unknown, at: string, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  const list = expectArray(value, at).map((w, i) => expectString(w, join(at, i)));
  if (list.length === 0) throw new ValidationError(at, 'expected at least one status word');
  return list;
}

export function parseSoapFaxSettings(value: Record<string, unknown>, at: string): SoapFaxSettings {
  const endpoint = expectString(value['endpoint'], join(at, 'endpoint'));
  if (!/^https?:\/\//.test(endpoint)) throw new ValidationError(join(at, 'endpoint'), 'expected an http(s) URL');
  const ops = expectObject(value['operations'] ?? {}, join(at, 'operations'));
  expectKeys(ops, join(at, 'operations'), ['send', 'status']);
  const fieldsInput = expectObject(value['fields'] ?? {}, join(at, 'fields'));
  expectKeys(fieldsInput, join(at, 'fields'), Object.keys(defaultFields));
  const fields = { ...defaultFields };
  for (const key of Object.keys(defaultFields) as Array<keyof typeof defaultFields>) {
    fields[key] = optionalString(fieldsInput[key], join(join(at, 'fields'), key)) ?? defaultFields[key];
  }
  return {
    wsdl: expectString(value['wsdl'], join(at, 'wsdl')),
    endpoint,
    operations: {
      send: optionalString(ops['send'], join(at, 'operations.send')) ?? 'SendFax',
      status: optionalString(ops['status'], join(at, 'operations.status')) ?? 'GetFaxStatus',
    },
    fields,
    delivered: words(value['delivered'], join(at, 'delivered'), ['delivered']),
    failed: words(value['failed'], join(at, 'failed'), ['failed']),
    busyFault: optionalString(value['busyFault'], join(at, 'busyFault')) ?? 'busy',
    pollIntervalMs: expectInteger(value['pollIntervalMs'] ?? 30_000, join(at, 'pollIntervalMs'), 10, 3_600_000),
    giveUpAfterMs: expectInteger(value['giveUpAfterMs'] ?? 86_400_000, join(at, 'giveUpAfterMs'), 1000),
    timeoutMs: expectInteger(value['timeoutMs'] ?? 30_000, join(at, 'timeoutMs'), 100, 600_000),
  };
}
