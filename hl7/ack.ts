// Acknowledgements per HL7 v2.5.1 ch. 2.9 (original and enhanced mode) and ch. 2.14 (MSH, MSA, ERR).
// The ACK goes back to whoever sent the message, so its MSH swaps sending and receiving application and
// facility, echoes the version, processing id and character set, and carries a control id of its own.
import { defaultDelimiters, type Delimiters } from './escape.ts';
import { Hl7Message } from './message.ts';

export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** HL7 table 0357, message error condition codes (the ones this hub reports). */
export const errorCodes = {
  segmentSequence: { code: '100', text: 'Segment sequence error' },
  requiredFieldMissing: { code: '101', text: 'Required field missing' },
  dataType: { code: '102', text: 'Data type error' },
  unsupportedMessageType: { code: '200', text: 'Unsupported message type' },
  unsupportedEventCode: { code: '201', text: 'Unsupported event code' },
  unsupportedProcessingId: { code: '202', text: 'Unsupported processing id' },
  unsupportedVersionId: { code: '203', text: 'Unsupported version id' },
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

export function buildAck(request: AckRequest, code: AckCode, options: AckOptions = {}): Hl7Message {
  const ack = Hl7Message.create(request.delimiters);
  ack.setEncoded('MSH-3', request.receivingApplication);
  ack.setEncoded('MSH-4', request.receivingFacility);
  ack.setEncoded('MSH-5', request.sendingApplication);
  ack.setEncoded('MSH-6', request.sendingFacility);
  ack.set('MSH-7', hl7Timestamp(options.now ?? new Date()));
  writeMessageType(ack, request);
  ack.set('MSH-10', nextControlId());
  ack.setEncoded('MSH-11', request.processingId || 'P');
  ack.set('MSH-12', request.version || '2.5.1');
  if (request.charset) ack.set('MSH-18', request.charset);
  ack.set('MSA-1', code);
  ack.set('MSA-2', request.controlId);
  const text = options.text ?? options.error?.text;
  if (text && code !== 'AA' && code !== 'CA') ack.set('MSA-3', text);
  if (options.error) writeError(ack, request.version, options.error);
  return ack;
}

function writeMessageType(ack: Hl7Message, request: AckRequest): void {
  ack.set('MSH-9.1', 'ACK');
  if (request.trigger) ack.set('MSH-9.2', request.trigger);
  // MSH-9.3 (message structure) exists from v2.3.1 on; the structure of every ACK is ACK (ch. 2.14.9.9).
  if (versionNumber(request.version) >= 231) ack.set('MSH-9.3', 'ACK');
}

function writeError(ack: Hl7Message, version: string, error: AckError): void {
  const { condition, location } = error;
  if (versionNumber(version) < 250) {
    // Before v2.5, ERR-1 (ELD) carries segment^sequence^field^code&text&table.
    if (location) {
      ack.set('ERR-1.1', location.segment);
      if (location.sequence !== undefined) ack.set('ERR-1.2', String(location.sequence));
      if (location.field !== undefined) ack.set('ERR-1.3', String(location.field));
    }
    ack.set('ERR-1.4.1', condition.code);
    ack.set('ERR-1.4.2', condition.text);
    ack.set('ERR-1.4.3', 'HL70357');
    return;
  }
  if (location) {
    ack.set('ERR-2.1', location.segment);
    ack.set('ERR-2.2', String(location.sequence ?? 1));
    if (location.field !== undefined) ack.set('ERR-2.3', String(location.field));
  }
  ack.set('ERR-3.1', condition.code);
  ack.set('ERR-3.2', condition.text);
  ack.set('ERR-3.3', 'HL70357');
  ack.set('ERR-4', 'E');
  ack.set('ERR-8', error.text);
}

/** How the message fared; decides the ACK codes. `stored` matters for the commit level in enhanced mode. */
export type Disposition =
  | { kind: 'accepted' }
  | { kind: 'error'; stored: boolean; error: AckError }
  | { kind: 'rejected'; error: AckError };

export function isEnhancedMode(request: AckRequest): boolean {
  return request.acceptAck !== '' || request.applicationAck !== '';
}

/** Table 0155: AL always, NE never, ER only on error, SU only on success. */
function wanted(condition: string, success: boolean): boolean {
  switch (condition) {
    case 'NE': return false;
    case 'ER': return !success;
    case 'SU': return success;
    default: return true;
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
  if (!isEnhancedMode(request)) {
    return [disposition.kind === 'accepted' ? 'AA' : disposition.kind === 'error' ? 'AE' : 'AR'];
  }
  const commit: AckCode = disposition.kind === 'rejected' ? 'CR' : disposition.kind === 'accepted' || disposition.stored ? 'CA' : 'CE';
  const codes: AckCode[] = [];
  if (wanted(request.acceptAck || 'AL', commit === 'CA')) codes.push(commit);
  if (commit !== 'CA') return codes;
  const application: AckCode = disposition.kind === 'accepted' ? 'AA' : 'AE';
  if (wanted(request.applicationAck || 'NE', application === 'AA')) codes.push(application);
  return codes;
}
