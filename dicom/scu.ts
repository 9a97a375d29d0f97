// C-STORE SCU: sends stored Part-10 files to a peer in ONE association, each in the transfer syntax it was
// stored in (no transcoding: the hub forwards what it received). Only the meta header of each file is parsed;
// the data set is streamed from disk into P-DATA-TF PDUs sized to the peer's maximum, so memory does not grow
// with instance size. dcmjs-dimse's Client parses and holds every data set before sending (855 MB for 20 × 20 MB,
// LIBRARIES.md), which is why this is written on net.Socket.
import { once } from 'node:events';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from '../runtime/log.ts';
import { createLogger, errorText } from '../runtime/log.ts';
import { type SenderTlsSettings, senderTlsOptions, tlsFailureText } from '../runtime/tls-sender.ts';
import { commandField, decodeCommand, encodeCStoreRq, type Command } from './command.ts';
import { BlockPool, DatasetSource } from './dataset-source.ts';
import { readFileMetaSync, type FileMeta } from './part10.ts';
import {
  contextResult,
  decodeAssociateAc,
  decodeAssociateRj,
  encodeAbort,
  encodeAssociateRq,
  encodeReleaseRq,
  pDataHeader,
  pduType,
  type AssociateAc,
  type ProposedContext,
} from './pdu.ts';
import { PduReader } from './pdu-reader.ts';

export interface ScuPeer {
  host: string;
  port: number;
  calledAe: string;
  callingAe: string;
  /** DICOM over TLS (PS3.15 B.9): the peer's certificate is verified, a client certificate sent if set. */
  tls?: SenderTlsSettings;
}

export interface ScuOptions {
  log?: Logger;
  connectTimeoutMs?: number;
  /** From A-ASSOCIATE-RQ sent to A-ASSOCIATE-AC/RJ received. */
  associationTimeoutMs?: number;
  /** From the last data fragment sent to the C-STORE-RSP; also bounds A-RELEASE-RP. */
  responseTimeoutMs?: number;
  /** The largest PDU we accept from the peer (only responses come back, so small is fine). */
  maxPduLength?: number;
  /** Told of each file's answer as it comes (a C-MOVE reports progress with it). */
  onOutcome?: (outcome: SendOutcome) => void;
  /** Asked before each file: true stops sending, the rest is not-sent (a C-MOVE's C-CANCEL). */
  stopWhen?: () => boolean;
}

/**
 * success/warning/failure are the peer's answer (PS3.4 B.2.3: 0x0000; 0x0001 or 0xBxxx; anything else).
 * not-sent: the file never reached the peer as a whole or no answer came (association refused, lost, timed out,
 * presentation context rejected, unreadable file), so it is safe and necessary to send it again.
 */
export type SendState = 'success' | 'warning' | 'failure' | 'not-sent';

export interface SendOutcome {
  filePath: string;
  state: SendState;
  sopInstanceUid?: string;
  /** The DIMSE status from the peer, when it answered. */
  status?: number;
  /** Why it failed or was not sent, or the peer's error comment. */
  reason?: string;
}

interface Prepared {
  filePath: string;
  meta: FileMeta;
  size: number;
  contextId: number;
}

/** Odd IDs 1..255 (PS3.8 9.3.2.2): at most 128 presentation contexts in one association. */
const maxContexts = 128;
/** Files are read in blocks of this size and cut into PDUs, so fs calls stay few even with 16 KB PDUs. */
const readBlock = 1024 * 1024;
/** Blocks in flight per association: one being read, one prefetched, two draining into the socket. */
const poolBlocks = 4;
/** Used when the peer announces no maximum (0 = unlimited, PS3.8 D.1). */
const defaultSendPdu = 1024 * 1024;

export async function sendFiles(
  peer: ScuPeer,
  filePaths: readonly string[],
  options: ScuOptions = {},
): Promise<SendOutcome[]> {
  const log = (options.log ?? createLogger()).child({
    component: 'dicom-scu',
    calledAe: peer.calledAe,
    host: peer.host,
    port: peer.port,
  });
  const outcomes = new Map<string, SendOutcome>();
  const { prepared, contexts } = await prepare(filePaths, outcomes);
  if (prepared.length === 0)
    return filePaths.map((filePath) => outcomes.get(filePath) ?? notSent(filePath, 'nothing to send'));
  const link = new ScuLink(peer, options, log);
  const pool = new BlockPool(readBlock, poolBlocks);
  let ahead: Promise<DatasetSource> | undefined;
  try {
    const ac = await link.associate(contexts);
    const sendable = prepared.filter((item) => {
      const accepted = ac.contexts.find((context) => context.id === item.contextId);
      if (accepted !== undefined && accepted.result === contextResult.accept) return true;
      outcomes.set(
        item.filePath,
        notSent(
          item.filePath,
          `peer rejected presentation context for ${item.meta.sopClassUid} in ${item.meta.transferSyntaxUid}`,
          item.meta.sopInstanceUid,
        ),
      );
      return false;
    });
    ahead = openAhead(sendable[0], pool);
    for (let index = 0; index < sendable.length; index++) {
      if (options.stopWhen?.()) break;
      const item = sendable[index]!;
      const source = ahead;
      ahead = undefined;
      // The next file is opened and its first block read while this one is answered: with small instances the
      // disk latency then hides behind the network round trip instead of adding to it. Opened once this one is
      // written, not before: the open and the read's hand-off to the threadpool took ~50 µs between an answer
      // and the next send (a third of that turnaround), time the peer then waited for. Kept in `ahead` at once,
      // so a failed association closes it too.
      const prefetch = (): void => {
        ahead ??= openAhead(sendable[index + 1], pool);
      };
      const outcome = await link.store(item, source!, pool, prefetch);
      prefetch();
      outcomes.set(item.filePath, outcome);
      options.onOutcome?.(outcome);
    }
    await link.release();
  } catch (error) {
    const reason = errorText(error);
    log.warn('association failed', { reason });
    for (const item of prepared) {
      if (!outcomes.has(item.filePath))
        outcomes.set(item.filePath, notSent(item.filePath, reason, item.meta.sopInstanceUid));
    }
  } finally {
    link.close();
    await ahead?.then((source) => source.close()).catch(() => undefined);
  }
  return filePaths.map((filePath) => outcomes.get(filePath) ?? notSent(filePath, 'not attempted'));
}

function openAhead(item: Prepared | undefined, pool: BlockPool): Promise<DatasetSource> | undefined {
  if (item === undefined) return undefined;
  const source = DatasetSource.open(
    { filePath: item.filePath, datasetOffset: item.meta.datasetOffset, size: item.size },
    pool,
  );
  // Awaited in its turn; this only keeps a failure from being reported as unhandled before then.
  source.catch(() => undefined);
  return source;
}

function notSent(filePath: string, reason: string, sopInstanceUid?: string): SendOutcome {
  return sopInstanceUid === undefined
    ? { filePath, state: 'not-sent', reason }
    : { filePath, state: 'not-sent', reason, sopInstanceUid };
}

function readMeta(filePath: string): { meta: FileMeta; size: number } {
  const fd = openSync(filePath, 'r');
  try {
    return { meta: readFileMetaSync(fd, filePath), size: fstatSync(fd).size };
  } finally {
    closeSync(fd);
  }
}

async function prepare(
  filePaths: readonly string[],
  outcomes: Map<string, SendOutcome>,
): Promise<{ prepared: Prepared[]; contexts: ProposedContext[] }> {
  const read: ({ meta: FileMeta; size: number } | undefined)[] = [];
  for (const [index, filePath] of filePaths.entries()) {
    // Inline reads of a few KiB each; yield now and then so a study of thousands of files does not hold the loop.
    if (index % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
    try {
      read.push(readMeta(filePath));
    } catch (error) {
      read.push(undefined);
      outcomes.set(filePath, notSent(filePath, `cannot read: ${errorText(error)}`));
    }
  }
  const prepared: Prepared[] = [];
  const contextIds = new Map<string, number>();
  const contexts: ProposedContext[] = [];
  filePaths.forEach((filePath, index) => {
    const entry = read[index];
    if (entry === undefined) return;
    const { meta, size } = entry;
    const key = `${meta.sopClassUid} ${meta.transferSyntaxUid}`;
    let contextId = contextIds.get(key);
    if (contextId === undefined) {
      if (contexts.length >= maxContexts) {
        outcomes.set(
          filePath,
          notSent(
            filePath,
            `more than ${maxContexts} SOP class/transfer syntax pairs in one association`,
            meta.sopInstanceUid,
          ),
        );
        return;
      }
      contextId = contexts.length * 2 + 1;
      contextIds.set(key, contextId);
      contexts.push({ id: contextId, abstractSyntax: meta.sopClassUid, transferSyntaxes: [meta.transferSyntaxUid] });
    }
    prepared.push({ filePath, meta, size, contextId });
  });
  return { prepared, contexts };
}

type Waiter = { resolve: (value: unknown) => void; reject: (error: Error) => void; kind: 'ac' | 'rsp' | 'rp' };

/** The socket side of one association: sends PDUs, turns what comes back into resolved waits. */
class ScuLink {
  readonly #peer: ScuPeer;
  readonly #options: ScuOptions;
  readonly #log: Logger;
  readonly #reader: PduReader;
  #socket: Socket | undefined;
  #waiter: Waiter | undefined;
  #failure: Error | undefined;
  #commandPieces: Buffer[] = [];
  #sendPdu = defaultSendPdu;
  #messageId = 0;
  #released = false;
  /** Blocks handed to the socket and not yet written, by the pool they return to. */
  readonly #inFlight = new Map<Buffer, BlockPool>();
  /** A C-STORE-RSP can arrive before store() starts waiting (the last PDU flushed while the file was closing). */
  #early: Command | undefined;

  constructor(peer: ScuPeer, options: ScuOptions, log: Logger) {
    this.#peer = peer;
    this.#options = options;
    this.#log = log;
    this.#reader = new PduReader({
      pdu: (type, body) => this.#onPdu(type, body),
      pdv: (_id, isCommand, piece, end) => this.#onPdv(isCommand, piece, end),
    });
  }

  async associate(contexts: ProposedContext[]): Promise<AssociateAc> {
    const socket = await this.#connect();
    const rq = encodeAssociateRq({
      calledAe: this.#peer.calledAe,
      callingAe: this.#peer.callingAe,
      contexts,
      maxPduLength: this.#options.maxPduLength ?? 64 * 1024,
    });
    const answer = this.#wait('ac', this.#options.associationTimeoutMs ?? 30_000, 'A-ASSOCIATE-AC');
    socket.write(rq);
    const ac = (await answer) as AssociateAc;
    // PS3.8 D.1: the peer's maximum bounds the whole PDU variable part, i.e. PDV header (6) plus value.
    if (ac.maxPduLength > 0) this.#sendPdu = ac.maxPduLength;
    this.#log.debug('association accepted', { maxPduLength: ac.maxPduLength });
    return ac;
  }

  /** `sent` is called once the instance is handed to the socket, before its answer is awaited. */
  async store(
    item: Prepared,
    opening: Promise<DatasetSource>,
    pool: BlockPool,
    sent: () => void,
  ): Promise<SendOutcome> {
    let source: DatasetSource;
    try {
      source = await opening;
    } catch (error) {
      return notSent(item.filePath, `cannot read: ${errorText(error)}`, item.meta.sopInstanceUid);
    }
    try {
      const socket = this.#live();
      this.#messageId = (this.#messageId % 0xffff) + 1;
      const command = encodeCStoreRq(this.#messageId, item.meta.sopClassUid, item.meta.sopInstanceUid);
      socket.cork();
      socket.write(pDataHeader(item.contextId, command.length, true, true));
      socket.write(command);
      await this.#streamDataset(socket, source, item.contextId, pool);
    } finally {
      source.close();
    }
    sent();
    const response = (await this.#wait('rsp', this.#options.responseTimeoutMs ?? 60_000, 'C-STORE-RSP')) as Command;
    return outcomeOf(item, response);
  }

  async #streamDataset(socket: Socket, source: DatasetSource, contextId: number, pool: BlockPool): Promise<void> {
    const maxValue = this.#sendPdu - 6;
    for (let chunk = await source.next(); chunk !== undefined; chunk = await source.next()) {
      const { block, length, last } = chunk;
      for (let offset = 0; offset < length; offset += maxValue) {
        const end = Math.min(offset + maxValue, length);
        socket.write(pDataHeader(contextId, end - offset, false, last && end === length));
        // The block goes back to the pool once the kernel has its last byte (or the write failed, or the socket
        // closed with it still queued: a block lost there would leave the next read waiting forever).
        if (end === length) {
          this.#inFlight.set(block, pool);
          socket.write(block.subarray(offset, end), () => this.#returnBlock(block));
        } else {
          socket.write(block.subarray(offset, end));
        }
      }
      socket.uncork();
      this.#live();
      if (!last) socket.cork();
    }
  }

  async release(): Promise<void> {
    const socket = this.#live();
    const answer = this.#wait('rp', this.#options.responseTimeoutMs ?? 60_000, 'A-RELEASE-RP');
    socket.write(encodeReleaseRq());
    await answer;
    this.#released = true;
  }

  #returnBlock(block: Buffer): void {
    const pool = this.#inFlight.get(block);
    if (pool === undefined) return;
    this.#inFlight.delete(block);
    pool.release(block);
  }

  /** After a release the peer closes; otherwise tell it with A-ABORT that the association is gone. */
  close(): void {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return;
    if (!this.#released) socket.end(encodeAbort(0, 0));
    setTimeout(() => socket.destroy(), this.#released ? 0 : 1000).unref();
  }

  #live(): Socket {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#socket === undefined || this.#socket.destroyed) throw new Error('connection closed');
    return this.#socket;
  }

  async #connect(): Promise<Socket> {
    const { host, port, tls } = this.#peer;
    const socket =
      tls === undefined
        ? connect({ host, port, noDelay: true })
        : tlsConnect({ host, port, ...senderTlsOptions(tls, host) });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#reader.push(chunk);
      } catch (error) {
        this.#fail(new Error(`protocol error from peer: ${errorText(error)}`));
        socket.end(encodeAbort(0, 0));
      }
    });
    let tcpUp = false;
    socket.once('connect', () => (tcpUp = true));
    socket.on('error', (error) => {
      const why = tls !== undefined && tcpUp ? tlsFailureText(error) : error.message;
      this.#fail(new Error(`connection to ${host}:${port} failed: ${why}`));
    });
    socket.on('close', () => {
      this.#fail(new Error('connection closed by peer'));
      for (const block of [...this.#inFlight.keys()]) this.#returnBlock(block);
    });
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
    try {
      await Promise.race([
        // Under TLS the association starts once the handshake is done (the peer's certificate verified).
        once(socket, tls === undefined ? 'connect' : 'secureConnect'),
        once(socket, 'close').then(() => {
          throw this.#failure ?? new Error('connection closed');
        }),
      ]);
    } catch (error) {
      // once() rejects with the bare socket error; the recorded failure says where (and that TLS failed).
      throw this.#failure ?? error;
    } finally {
      clearTimeout(timer);
    }
    socket.setNoDelay(true);
    return socket;
  }

  #wait(kind: Waiter['kind'], timeoutMs: number, what: string): Promise<unknown> {
    if (kind === 'rsp' && this.#early !== undefined) {
      const early = this.#early;
      this.#early = undefined;
      return Promise.resolve(early);
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new Error(`no ${what} within ${timeoutMs} ms`));
        this.#socket?.end(encodeAbort(0, 0));
      }, timeoutMs);
      this.#waiter = {
        kind,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  #settle(kind: Waiter['kind'], value: unknown): void {
    const waiter = this.#waiter;
    if (waiter === undefined && kind === 'rsp' && this.#early === undefined) {
      this.#early = value as Command;
      return;
    }
    if (waiter === undefined || waiter.kind !== kind)
      throw new Error(`unexpected ${kind === 'rsp' ? 'DIMSE response' : `PDU (${kind})`}`);
    this.#waiter = undefined;
    waiter.resolve(value);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#failure);
  }

  #onPdu(type: number, body: Buffer): void {
    if (type === pduType.associateAc) return this.#settle('ac', decodeAssociateAc(body));
    if (type === pduType.associateRj) {
      const rj = decodeAssociateRj(body);
      // Nothing to abort: the association never existed (PS3.8 9.1.2); just close.
      this.#released = true;
      return this.#fail(
        new Error(
          `association rejected (result ${rj.result}, source ${rj.source}, reason ${rj.reason}${describeReject(rj.source, rj.reason)})`,
        ),
      );
    }
    if (type === pduType.releaseRp) return this.#settle('rp', undefined);
    if (type === pduType.abort)
      return this.#fail(new Error(`association aborted by peer (source ${body[2] ?? 0}, reason ${body[3] ?? 0})`));
    throw new Error(`unexpected PDU type 0x${type.toString(16)}`);
  }

  #onPdv(isCommand: boolean, piece: Buffer, endOfMessage: boolean): void {
    if (!isCommand) throw new Error('peer sent a data set; a C-STORE-RSP has none');
    this.#commandPieces.push(piece);
    if (!endOfMessage) return;
    const command = decodeCommand(Buffer.concat(this.#commandPieces));
    this.#commandPieces = [];
    if (command.commandField !== commandField.cStoreRsp)
      throw new Error(`expected C-STORE-RSP, got command 0x${command.commandField.toString(16)}`);
    if (command.messageIdBeingRespondedTo !== this.#messageId)
      throw new Error(`C-STORE-RSP for message ${command.messageIdBeingRespondedTo}, expected ${this.#messageId}`);
    this.#settle('rsp', command);
  }
}

function describeReject(source: number, reason: number): string {
  if (source !== 1) return '';
  if (reason === 3) return ': calling AE title not recognised';
  if (reason === 7) return ': called AE title not recognised';
  return '';
}

function outcomeOf(item: Prepared, response: Command): SendOutcome {
  const status = response.status;
  const base = { filePath: item.filePath, sopInstanceUid: item.meta.sopInstanceUid, status };
  const comment = response.errorComment === '' ? {} : { reason: response.errorComment };
  if (status === 0x0000) return { ...base, state: 'success' };
  // PS3.4 B.2.3 warnings: B000 coercion, B006 elements discarded, B007 data set does not match; 0001 (PS3.7 C).
  if (status === 0x0001 || (status & 0xf000) === 0xb000) return { ...base, ...comment, state: 'warning' };
  return {
    ...base,
    reason:
      response.errorComment === '' ? `peer status 0x${status.toString(16).padStart(4, '0')}` : response.errorComment,
    state: 'failure',
  };
}
