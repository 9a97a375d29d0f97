// Acknowledgements per HL7 v2.5.1 ch. 2.9 (original and enhanced mode) and ch. 2.14 (MSH, MSA, ERR).
// The ACK goes back to whoever sent the message, so its MSH swaps sending and receiving application and
// facility, echoes the version, processing id and character set, and carries a control id of its own.
import { defaultDelimiters, delimiterText, escapeValue, type Delimiters } from './escape.ts';
import { Hl7Message, type Segment } from './message.ts';

export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** HL7 table 0357, message error condition codes (the ones this hub reports). */
export const errorCodes = {
  segmentSequence: { code: '100', text: 'Segment sequence error' },
  requiredFieldMissing: { code: '101', text: 'Required field missing' },
  dataType: { code: '102', text: 'Data type error' },
  tableValueNotFound: { code: '103', text: 'Table value not found' },
  unsupportedMessageType: { code: '200', text: 'Unsupported message type' },
  unsupportedEventCode: { code: '201', text: 'Unsupported event code' },
  unsupportedProcessingId: { code: '202', text: 'Unsupported processing id' },
  unsupportedVersionId: { code: '203', text: 'Unsupported version id' },
  unknownKeyIdentifier: { code: '204', text: 'Unknown key identifier' },
  duplicateKeyIdentifier: { code: '205', text: 'Duplicate key identifier' },
  applicationInternalError: { code: '207', text: 'Application internal error' },
} as const;

export type ErrorCondition = (typeof errorCodes)[keyof typeof errorCodes];

export interface ErrorLocation {
  segment: string;
  /** 1-based occurrence of the segment in the message. */
  sequence?: number;
  field?: number;
}

export interface AckError {
  condition: ErrorCondition;
  /** Safe to show the sender: no patient data. */
  text: string;
  location?: ErrorLocation;
}

/** The condition of a table 0357 code; an unknown or absent code reads as an application internal error. */
export function conditionOf(code: string | undefined): ErrorCondition {
  return Object.values(errorCodes).find((condition) => condition.code === code) ?? errorCodes.applicationInternalError;
}

/**
 * An analyst's name for a place in a message (`PID-3`, `ORC[2]-1`, `OBR-4.2`, `PID`) as an ERR location
 * (ch. 2.14.5.2, ERL: segment, its occurrence, field); undefined for anything else. Components are dropped: the
 * field is what a sender's analyst looks for.
 */
export function errorLocationOf(path: string | undefined): ErrorLocation | undefined {
  const m = /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+)(?:\.\d+)*)?$/.exec(path ?? '');
  if (!m) return undefined;
  const location: ErrorLocation = { segment: m[1]!, sequence: m[2] === undefined ? 1 : Number(m[2]) };
  if (m[3] !== undefined) location.field = Number(m[3]);
  return location;
}

/** What an ACK needs from the message it answers; built from a parsed MSH or, for a broken frame, from less. */
export interface AckRequest {
  delimiters: Delimiters;
  /** Encoded (as received) MSH-3..6, so composite HD values are echoed exactly. */
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  controlId: string;
  trigger: string;
  processingId: string;
  version: string;
  charset: string;
  acceptAck: string;
  applicationAck: string;
}

export function ackRequestOf(message: Hl7Message): AckRequest {
  const encoded = (path: string): string => message.getEncoded(path) ?? '';
  return {
    delimiters: message.delimiters,
    sendingApplication: encoded('MSH-3'),
    sendingFacility: encoded('MSH-4'),
    receivingApplication: encoded('MSH-5'),
    receivingFacility: encoded('MSH-6'),
    controlId: message.get('MSH-10') ?? '',
    trigger: message.get('MSH-9.2') ?? '',
    processingId: encoded('MSH-11'),
    version: message.get('MSH-12') ?? '',
    charset: message.get('MSH-18[1]') ?? '',
    acceptAck: message.get('MSH-15') ?? '',
    applicationAck: message.get('MSH-16') ?? '',
  };
}

/** For a frame with no readable MSH: an ACK that still parses, in the version this hub speaks. */
export function emptyAckRequest(charset = ''): AckRequest {
  return {
    delimiters: defaultDelimiters,
    sendingApplication: '',
    sendingFacility: '',
    receivingApplication: '',
    receivingFacility: '',
    controlId: '',
    trigger: '',
    processingId: 'P',
    version: '2.5.1',
    charset,
    acceptAck: '',
    applicationAck: '',
  };
}

const processStamp = Date.now().toString(36).toUpperCase() + process.pid.toString(36).toUpperCase();
let sequence = 0;

/** A control id no other ACK from this host gets: process start time, pid and a counter (≤ 20 chars, ST). */
export function nextControlId(): string {
  sequence = (sequence + 1) % 36 ** 6;
  return `${processStamp}${sequence.toString(36).toUpperCase().padStart(6, '0')}`.slice(-20);
}

/** v2.x version as a comparable number: 2.3.1 -> 231, 2.5 -> 250, 2.5.1 -> 251. Unknown reads as current. */
function versionNumber(version: string): number {
  const m = /^2\.(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) return 251;
  return 200 + Number(m[1]) * 10 + Number(m[2] ?? 0);
}

function hl7Timestamp(now: Date): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}+0000`;
}

export interface AckOptions {
  /** MSA-3: deprecated since v2.4 yet still what most receivers show operators, so it is sent with errors. */
  text?: string;
  error?: AckError;
  now?: Date;
}

/**
 * The ACK's segments are written as whole fields rather than path by path through Hl7Message.set: each set
 * splits and joins its field again, and building ACKs that way was ~5 % of HL7 ingest's main thread.
 */
export function buildAck(request: AckRequest, code: AckCode, options: AckOptions = {}): Hl7Message {
  const d = request.delimiters;
  const escaped = (value: string): string => escapeValue(value, d);
  const msh = [
    'MSH',
    d.field,
    delimiterText(d).slice(1),
    request.receivingApplication,
    request.receivingFacility,
    request.sendingApplication,
    request.sendingFacility,
    hl7Timestamp(options.now ?? new Date()),
    '',
    messageType(request),
    nextControlId(),
    request.processingId || 'P',
    escaped(request.version || '2.5.1'),
  ];
  // MSH-13..17 stay empty; MSH-18 echoes the sender's character set.
  if (request.charset) msh.push('', '', '', '', '', escaped(request.charset));
  const msa = ['MSA', code, escaped(request.controlId)];
  const text = options.text ?? options.error?.text;
  if (text && code !== 'AA' && code !== 'CA') msa.push(escaped(text));
  const segments: Segment[] = [{ fields: msh }, { fields: msa }];
  if (options.error) segments.push({ fields: errorSegment(request.version, options.error, d) });
  return new Hl7Message(segments, d);
}

function messageType(request: AckRequest): string {
  const d = request.delimiters;
  const components = ['ACK'];
  if (request.trigger) components.push(escapeValue(request.trigger, d));
  // MSH-9.3 (message structure) exists from v2.3.1 on; the structure of every ACK is ACK (ch. 2.14.9.9).
  if (versionNumber(request.version) >= 231) components[2] = 'ACK';
  return joinParts(components, d.component);
}

function errorSegment(version: string, error: AckError, d: Delimiters): string[] {
  const { condition, location } = error;
  const escaped = (value: string): string => escapeValue(value, d);
  const where = location === undefined ? [] : [escaped(location.segment)];
  if (versionNumber(version) < 250) {
    // Before v2.5, ERR-1 (ELD) carries segment^sequence^field^code&text&table.
    if (location?.sequence !== undefined) where[1] = String(location.sequence);
    if (location?.field !== undefined) where[2] = String(location.field);
    where[3] = [condition.code, escaped(condition.text), 'HL70357'].join(d.subcomponent);
    return ['ERR', joinParts(where, d.component)];
  }
  if (location !== undefined) {
    where[1] = String(location.sequence ?? 1);
    if (location.field !== undefined) where[2] = String(location.field);
  }
  const code = [condition.code, escaped(condition.text), 'HL70357'].join(d.component);
  return ['ERR', '', joinParts(where, d.component), code, 'E', '', '', '', escaped(error.text)];
}

/** Joins components, holes (never set) reading as empty ones. */
function joinParts(parts: Array<string | undefined>, separator: string): string {
  return Array.from(parts, (part) => part ?? '').join(separator);
}

/**
 * How the message fared; decides the ACK codes. `stored` matters for the commit level in enhanced mode.
 * `refused`: stored (committed), and the application will not process it: AR (`rejected`) or AE.
 */
export type Disposition =
  | { kind: 'accepted' }
  | { kind: 'error'; stored: boolean; error: AckError }
  | { kind: 'rejected'; error: AckError }
  | { kind: 'refused'; rejected: boolean; error: AckError };

export function isEnhancedMode(request: AckRequest): boolean {
  return request.acceptAck !== '' || request.applicationAck !== '';
}

/** Table 0155: AL always, NE never, ER only on error, SU only on success. */
function wanted(condition: string, success: boolean): boolean {
  switch (condition) {
    case 'NE':
      return false;
    case 'ER':
      return !success;
    case 'SU':
      return success;
    default:
      return true;
  }
}

function applicationCode(disposition: Disposition): AckCode {
  switch (disposition.kind) {
    case 'accepted':
      return 'AA';
    case 'error':
      return 'AE';
    case 'rejected':
      return 'AR';
    case 'refused':
      return disposition.rejected ? 'AR' : 'AE';
  }
}

/**
 * The ACK codes to send, in order (ch. 2.9.2 original mode, 2.9.3 enhanced mode). In enhanced mode the
 * accept (commit) ACK says whether the message was safely stored; the application ACK, sent only for a
 * committed message, says whether it was processed. Both are sent on the same connection, after the store,
 * because the hub's processing is done when receive() resolves. An empty MSH-15 in enhanced mode reads as AL,
 * an empty MSH-16 as NE (the sender asked only for what it named).
 */
export function ackCodesFor(request: AckRequest, disposition: Disposition): AckCode[] {
  const application = applicationCode(disposition);
  if (!isEnhancedMode(request)) return [application];
  const stored = disposition.kind !== 'error' || disposition.stored;
  const commit: AckCode = disposition.kind === 'rejected' ? 'CR' : stored ? 'CA' : 'CE';
  const codes: AckCode[] = [];
  if (wanted(request.acceptAck || 'AL', commit === 'CA')) codes.push(commit);
  if (commit !== 'CA') return codes;
  if (wanted(request.applicationAck || 'NE', application === 'AA')) codes.push(application);
  return codes;
}
