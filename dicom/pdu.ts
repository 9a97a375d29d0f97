// DICOM upper layer PDUs (PS3.8 section 9.3). Association PDUs are small and built/parsed whole; P-DATA-TF is
// never materialised as one buffer: the reader (pdu-reader.ts) hands out PDV fragments as they arrive and the
// writers below build only the 12-byte headers, so a 20 MB instance is never copied into one PDU object.
// PDU and item headers are big-endian (PS3.8 9.3.1); DIMSE content inside PDVs is little-endian (PS3.7).

export const pduType = {
  associateRq: 0x01,
  associateAc: 0x02,
  associateRj: 0x03,
  pData: 0x04,
  releaseRq: 0x05,
  releaseRp: 0x06,
  abort: 0x07,
} as const;

export const applicationContextName = '1.2.840.10008.3.1.1.1';
/** A 2.25 (UUID-derived, PS3.5 B.2) root, so the hub needs no registered org root. */
export const implementationClassUid = '2.25.173419860127763240356384216981723648529';
export const implementationVersionName = 'RSO_HUB_0_1';

/** PS3.8 table 9-21. */
export const rejectResult = { permanent: 1, transient: 2 } as const;
export const rejectSource = { serviceUser: 1, acse: 2, presentation: 3 } as const;
export const rejectReason = { noReason: 1, applicationContext: 2, callingAe: 3, calledAe: 7 } as const;
/** PS3.8 table 9-21, reasons when the source is 3 (service-provider, presentation related). */
export const presentationRejectReason = { temporaryCongestion: 1, localLimitExceeded: 2 } as const;

/** PS3.8 table 9-18 (presentation context result/reason). */
export const contextResult = {
  accept: 0,
  userRejection: 1,
  noReason: 2,
  abstractSyntax: 3,
  transferSyntaxes: 4,
} as const;

export interface ProposedContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

/** SCP/SCU Role Selection (PS3.7 D.3.3.4): whether the requester acts as SCU and/or SCP for a SOP class. */
export interface RoleSelection {
  sopClassUid: string;
  scu: boolean;
  scp: boolean;
}

export interface AssociateRq {
  calledAe: string;
  callingAe: string;
  contexts: ProposedContext[];
  maxPduLength: number;
  /** Proposed role selections; absent ones mean the default (requester SCU only). */
  roles?: RoleSelection[];
}

export interface AcceptedContext {
  id: number;
  result: number;
  transferSyntax: string;
}

export interface AssociateAc {
  contexts: AcceptedContext[];
  /** 0 means "no limit" (PS3.8 D.1). */
  maxPduLength: number;
}

export interface AssociateRj {
  result: number;
  source: number;
  reason: number;
}

export function pduHeader(type: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(6);
  header[0] = type;
  header[1] = 0;
  header.writeUInt32BE(length, 2);
  return header;
}

/** Header of a P-DATA-TF PDU holding one PDV of `valueLength` bytes (PS3.8 9.3.5, E.2). */
export function pDataHeader(contextId: number, valueLength: number, command: boolean, last: boolean): Buffer {
  const header = Buffer.allocUnsafe(12);
  header[0] = pduType.pData;
  header[1] = 0;
  header.writeUInt32BE(valueLength + 6, 2);
  header.writeUInt32BE(valueLength + 2, 6);
  header[10] = contextId;
  header[11] = (command ? 0x01 : 0x00) | (last ? 0x02 : 0x00);
  return header;
}

function item(type: number, body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(4);
  header[0] = type;
  header[1] = 0;
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function uidItem(type: number, uid: string): Buffer {
  return item(type, Buffer.from(uid, 'ascii'));
}

function aeField(ae: string): Buffer {
  return Buffer.from(ae.padEnd(16, ' ').slice(0, 16), 'ascii');
}

function userInfo(maxPduLength: number, roles: readonly RoleSelection[] = []): Buffer {
  const max = Buffer.allocUnsafe(4);
  max.writeUInt32BE(maxPduLength, 0);
  // PS3.7 D.3.3.4: role selection items follow the implementation class UID, before the version name.
  const roleItems = roles.map((role) => {
    const uid = Buffer.from(role.sopClassUid, 'ascii');
    const length = Buffer.allocUnsafe(2);
    length.writeUInt16BE(uid.length, 0);
    return item(0x54, Buffer.concat([length, uid, Buffer.from([role.scu ? 1 : 0, role.scp ? 1 : 0])]));
  });
  return item(
    0x50,
    Buffer.concat([
      item(0x51, max),
      uidItem(0x52, implementationClassUid),
      ...roleItems,
      uidItem(0x55, implementationVersionName),
    ]),
  );
}

function associateHeader(calledAe: string, callingAe: string): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0);
  aeField(calledAe).copy(fixed, 4);
  aeField(callingAe).copy(fixed, 20);
  return fixed;
}

function withPduHeader(type: number, body: Buffer): Buffer {
  return Buffer.concat([pduHeader(type, body.length), body]);
}

export function encodeAssociateRq(rq: AssociateRq): Buffer {
  const contexts = rq.contexts.map((context) => {
    const head = Buffer.from([context.id, 0, 0, 0]);
    const syntaxes = context.transferSyntaxes.map((ts) => uidItem(0x40, ts));
    return item(0x20, Buffer.concat([head, uidItem(0x30, context.abstractSyntax), ...syntaxes]));
  });
  const body = Buffer.concat([
    associateHeader(rq.calledAe, rq.callingAe),
    uidItem(0x10, applicationContextName),
    ...contexts,
    userInfo(rq.maxPduLength),
  ]);
  return withPduHeader(pduType.associateRq, body);
}

/** `roles`: the answers to the requester's role selections (only for SOP classes it proposed roles for). */
export function encodeAssociateAc(
  rq: AssociateRq,
  contexts: AcceptedContext[],
  maxPduLength: number,
  roles: readonly RoleSelection[] = [],
): Buffer {
  const results = contexts.map((context) => {
    const head = Buffer.from([context.id, 0, context.result, 0]);
    return item(0x21, Buffer.concat([head, uidItem(0x40, context.transferSyntax)]));
  });
  const body = Buffer.concat([
    associateHeader(rq.calledAe, rq.callingAe),
    uidItem(0x10, applicationContextName),
    ...results,
    userInfo(maxPduLength, roles),
  ]);
  return withPduHeader(pduType.associateAc, body);
}

export function encodeAssociateRj(rj: AssociateRj): Buffer {
  return withPduHeader(pduType.associateRj, Buffer.from([0, rj.result, rj.source, rj.reason]));
}

export function encodeReleaseRq(): Buffer {
  return withPduHeader(pduType.releaseRq, Buffer.alloc(4));
}

export function encodeReleaseRp(): Buffer {
  return withPduHeader(pduType.releaseRp, Buffer.alloc(4));
}

/** Source 0 = service user, 2 = service provider (PS3.8 table 9-26). */
export function encodeAbort(source: number, reason: number): Buffer {
  return withPduHeader(pduType.abort, Buffer.from([0, 0, source, reason]));
}

function trimUid(bytes: Buffer): string {
  // UIDs in items are not padded per PS3.8 9.3.2.2, but some implementations add a trailing NUL anyway.
  return bytes.toString('ascii').replace(/[\0 ]+$/, '');
}

interface RawItem {
  type: number;
  body: Buffer;
}

function readItems(bytes: Buffer, what: string): RawItem[] {
  const items: RawItem[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) throw new Error(`${what}: item header truncated at byte ${offset}`);
    const type = bytes[offset] ?? 0;
    const length = bytes.readUInt16BE(offset + 2);
    const end = offset + 4 + length;
    if (end > bytes.length) throw new Error(`${what}: item 0x${type.toString(16)} length ${length} runs past the PDU`);
    items.push({ type, body: bytes.subarray(offset + 4, end) });
    offset = end;
  }
  return items;
}

function readMaxPduLength(userInfoBody: Buffer): number {
  for (const sub of readItems(userInfoBody, 'user information')) {
    if (sub.type === 0x51 && sub.body.length >= 4) return sub.body.readUInt32BE(0);
  }
  return 0;
}

function readRoles(userInfoBody: Buffer): RoleSelection[] {
  const roles: RoleSelection[] = [];
  for (const sub of readItems(userInfoBody, 'user information')) {
    if (sub.type !== 0x54 || sub.body.length < 2) continue;
    const length = sub.body.readUInt16BE(0);
    if (sub.body.length < 2 + length + 2) throw new Error('SCP/SCU role selection item too short');
    roles.push({
      sopClassUid: trimUid(sub.body.subarray(2, 2 + length)),
      scu: sub.body[2 + length] === 1,
      scp: sub.body[3 + length] === 1,
    });
  }
  return roles;
}

/** `body` is the PDU without its 6-byte header. */
export function decodeAssociateRq(body: Buffer): AssociateRq {
  if (body.length < 68) throw new Error('A-ASSOCIATE-RQ: shorter than its fixed fields');
  const calledAe = body.subarray(4, 20).toString('ascii').trim();
  const callingAe = body.subarray(20, 36).toString('ascii').trim();
  const contexts: ProposedContext[] = [];
  let maxPduLength = 0;
  let roles: RoleSelection[] = [];
  for (const raw of readItems(body.subarray(68), 'A-ASSOCIATE-RQ')) {
    if (raw.type === 0x50) {
      maxPduLength = readMaxPduLength(raw.body);
      roles = readRoles(raw.body);
    }
    if (raw.type !== 0x20) continue;
    if (raw.body.length < 4) throw new Error('A-ASSOCIATE-RQ: presentation context item too short');
    const context: ProposedContext = { id: raw.body[0] ?? 0, abstractSyntax: '', transferSyntaxes: [] };
    for (const sub of readItems(raw.body.subarray(4), `presentation context ${context.id}`)) {
      if (sub.type === 0x30) context.abstractSyntax = trimUid(sub.body);
      if (sub.type === 0x40) context.transferSyntaxes.push(trimUid(sub.body));
    }
    contexts.push(context);
  }
  return { calledAe, callingAe, contexts, maxPduLength, roles };
}

export function decodeAssociateAc(body: Buffer): AssociateAc {
  if (body.length < 68) throw new Error('A-ASSOCIATE-AC: shorter than its fixed fields');
  const contexts: AcceptedContext[] = [];
  let maxPduLength = 0;
  for (const raw of readItems(body.subarray(68), 'A-ASSOCIATE-AC')) {
    if (raw.type === 0x50) maxPduLength = readMaxPduLength(raw.body);
    if (raw.type !== 0x21 || raw.body.length < 4) continue;
    const context: AcceptedContext = { id: raw.body[0] ?? 0, result: raw.body[2] ?? 2, transferSyntax: '' };
    for (const sub of readItems(raw.body.subarray(4), `presentation context ${context.id}`)) {
      if (sub.type === 0x40) context.transferSyntax = trimUid(sub.body);
    }
    contexts.push(context);
  }
  return { contexts, maxPduLength };
}

export function decodeAssociateRj(body: Buffer): AssociateRj {
  return { result: body[1] ?? 0, source: body[2] ?? 0, reason: body[3] ?? 0 };
}
