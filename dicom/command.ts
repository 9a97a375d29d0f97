// DIMSE command sets (PS3.7 section 9.3, annex E): always implicit VR little endian, group 0000 only, with the
// group length (0000,0000) first. Only the fields C-ECHO, C-STORE, C-FIND, C-MOVE and C-GET (with C-CANCEL)
// need are modelled.

export const commandField = {
  cStoreRq: 0x0001,
  cStoreRsp: 0x8001,
  cEchoRq: 0x0030,
  cEchoRsp: 0x8030,
  cFindRq: 0x0020,
  cFindRsp: 0x8020,
  cMoveRq: 0x0021,
  cMoveRsp: 0x8021,
  cGetRq: 0x0010,
  cGetRsp: 0x8010,
  cCancelRq: 0x0fff,
} as const;

/** (0000,0800): 0x0101 means "no data set follows" (PS3.7 E.1). */
export const noDataSet = 0x0101;

export const verificationSopClass = '1.2.840.10008.1.1';

export interface Command {
  commandField: number;
  affectedSopClassUid: string;
  affectedSopInstanceUid: string;
  messageId: number;
  messageIdBeingRespondedTo: number;
  dataSetType: number;
  status: number;
  errorComment: string;
  /** (0000,0600) Move Destination: the AE title a C-MOVE sends to. */
  moveDestination: string;
}

/** C-MOVE's sub-operation counts (PS3.7 9.1.4.1.7-10), in every response but the last pending-free one alike. */
export interface SubOperations {
  remaining: number;
  completed: number;
  failed: number;
  warning: number;
}

type Value = { tag: number; kind: 'uid' | 'text'; value: string } | { tag: number; kind: 'us'; value: number };

function encodeValue(value: Value): Buffer {
  if (value.kind === 'us') {
    const bytes = Buffer.allocUnsafe(10);
    bytes.writeUInt32LE(value.tag, 0);
    bytes.writeUInt32LE(2, 4);
    bytes.writeUInt16LE(value.value, 8);
    return bytes;
  }
  // PS3.5 6.2: UIDs pad to even length with NUL, text with a space.
  const pad = value.value.length % 2 === 1 ? (value.kind === 'uid' ? '\0' : ' ') : '';
  const text = Buffer.from(value.value + pad, 'latin1');
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(value.tag, 0);
  head.writeUInt32LE(text.length, 4);
  return Buffer.concat([head, text]);
}

/** A tag as the number whose little-endian bytes are group then element (PS3.5 7.1.2). */
function tag(group: number, element: number): number {
  return ((element << 16) | group) >>> 0;
}

function encode(values: Value[]): Buffer {
  const body = Buffer.concat(values.map(encodeValue));
  const length = Buffer.allocUnsafe(12);
  length.writeUInt32LE(tag(0x0000, 0x0000), 0);
  length.writeUInt32LE(4, 4);
  length.writeUInt32LE(body.length, 8);
  return Buffer.concat([length, body]);
}

export function encodeCStoreRq(messageId: number, sopClassUid: string, sopInstanceUid: string): Buffer {
  return encode([
    { tag: tag(0, 0x0002), kind: 'uid', value: sopClassUid },
    { tag: tag(0, 0x0100), kind: 'us', value: commandField.cStoreRq },
    { tag: tag(0, 0x0110), kind: 'us', value: messageId },
    { tag: tag(0, 0x0700), kind: 'us', value: 0 },
    { tag: tag(0, 0x0800), kind: 'us', value: 0x0000 },
    { tag: tag(0, 0x1000), kind: 'uid', value: sopInstanceUid },
  ]);
}

export function encodeCEchoRq(messageId: number): Buffer {
  return encode([
    { tag: tag(0, 0x0002), kind: 'uid', value: verificationSopClass },
    { tag: tag(0, 0x0100), kind: 'us', value: commandField.cEchoRq },
    { tag: tag(0, 0x0110), kind: 'us', value: messageId },
    { tag: tag(0, 0x0800), kind: 'us', value: noDataSet },
  ]);
}

/**
 * A response to `request` (its command field with the response bit, PS3.7 E.1); `withDataSet` for C-FIND pending
 * and C-MOVE's failed-instance list; `counts` for C-MOVE.
 */
export function encodeResponse(
  request: Command,
  status: number,
  errorComment?: string,
  withDataSet = false,
  counts?: SubOperations,
): Buffer {
  const responseField = request.commandField | 0x8000;
  const values: Value[] = [
    { tag: tag(0, 0x0002), kind: 'uid', value: request.affectedSopClassUid },
    { tag: tag(0, 0x0100), kind: 'us', value: responseField },
    { tag: tag(0, 0x0120), kind: 'us', value: request.messageId },
    // Any value but 0x0101 says a data set follows (PS3.7 E.1); dcmtk writes 0x0000 too.
    { tag: tag(0, 0x0800), kind: 'us', value: withDataSet ? 0x0000 : noDataSet },
    { tag: tag(0, 0x0900), kind: 'us', value: status },
  ];
  // (0000,0902) Error Comment is LO: 64 characters at most (PS3.7 C.4.2).
  if (errorComment !== undefined && status !== 0)
    values.push({ tag: tag(0, 0x0902), kind: 'text', value: errorComment.slice(0, 64) });
  if (request.affectedSopInstanceUid !== '')
    values.push({ tag: tag(0, 0x1000), kind: 'uid', value: request.affectedSopInstanceUid });
  if (counts !== undefined) {
    // PS3.7 9.1.4.1.7: Number of Remaining Sub-operations is only in pending responses (and a cancel's).
    if (status === 0xff00 || status === 0xfe00)
      values.push({ tag: tag(0, 0x1020), kind: 'us', value: counts.remaining });
    values.push({ tag: tag(0, 0x1021), kind: 'us', value: counts.completed });
    values.push({ tag: tag(0, 0x1022), kind: 'us', value: counts.failed });
    values.push({ tag: tag(0, 0x1023), kind: 'us', value: counts.warning });
  }
  return encode(values);
}

function text(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[\0 ]+$/, '');
}

export function decodeCommand(bytes: Buffer): Command {
  const command: Command = {
    commandField: -1,
    affectedSopClassUid: '',
    affectedSopInstanceUid: '',
    messageId: 0,
    messageIdBeingRespondedTo: 0,
    dataSetType: noDataSet,
    status: -1,
    errorComment: '',
    moveDestination: '',
  };
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    const group = bytes.readUInt16LE(offset);
    const element = bytes.readUInt16LE(offset + 2);
    const length = bytes.readUInt32LE(offset + 4);
    const start = offset + 8;
    const end = start + length;
    if (group !== 0x0000)
      throw new Error(`command set: tag (${group.toString(16)},${element.toString(16)}) is not in group 0000`);
    if (end > bytes.length)
      throw new Error(`command set: (0000,${element.toString(16).padStart(4, '0')}) runs past the end`);
    const value = bytes.subarray(start, end);
    const us = length >= 2 ? value.readUInt16LE(0) : 0;
    if (element === 0x0002) command.affectedSopClassUid = text(value);
    else if (element === 0x0100) command.commandField = us;
    else if (element === 0x0110) command.messageId = us;
    else if (element === 0x0120) command.messageIdBeingRespondedTo = us;
    else if (element === 0x0600) command.moveDestination = text(value).trim();
    else if (element === 0x0800) command.dataSetType = us;
    else if (element === 0x0900) command.status = us;
    else if (element === 0x0902) command.errorComment = text(value);
    else if (element === 0x1000) command.affectedSopInstanceUid = text(value);
    offset = end;
  }
  if (command.commandField < 0) throw new Error('command set: (0000,0100) Command Field is missing');
  return command;
}
