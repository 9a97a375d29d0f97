// One C-GET on the SCP (PS3.7 9.1.3, PS3.4 C.4.3): the identifier says which study, series or instances; the get
// service resolves them to stored files, and the hub sends each back over the same association as a C-STORE-RQ
// sub-operation, on a presentation context the requester accepted as SCP for its SOP class and the stored transfer
// syntax (the hub does not transcode: an instance without such a context is a failed sub-operation). Files are
// streamed from disk a block at a time, waiting for the socket to drain. Counts and the final status as in
// dicom/sub-operations.ts.
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Logger } from '../runtime/log.ts';
import { errorText } from '../runtime/log.ts';
import { type Command, encodeCStoreRq, encodeResponse } from './command.ts';
import type { Dataset } from './dataset-codec.ts';
import { type FileMeta, readFileMetaSync } from './part10.ts';
import { pDataHeader } from './pdu.ts';
import { RequestExchange, type ResponseWriter, ServiceRefusal } from './scp-exchange.ts';
import type { NegotiatedContext } from './scp-negotiation.ts';
import { retrieveStatus, SubOperationTally } from './sub-operations.ts';

export const getSopClasses = {
  /** Study Root Query/Retrieve Information Model - GET (PS3.4 C.6.2.1). */
  studyRoot: '1.2.840.10008.5.1.4.1.2.2.3',
} as const;

export interface GetRequest {
  callingAe: string;
  sopClassUid: string;
  identifier: Dataset;
}

/** The stored files a C-GET returns; throws ServiceRefusal for what the requester got wrong. */
export type GetService = (request: GetRequest) => Promise<string[]>;

/** A sub-operation's C-STORE-RSP waits at most this long; a requester that stops answering ends the C-GET. */
const responseTimeoutMs = 60_000;
const readBlock = 1024 * 1024;

/** Sends C-STORE sub-operations on an association's socket and takes their responses back from it. */
export class SubOperationSender {
  readonly #socket: Socket;
  readonly #contexts: ReadonlyMap<number, NegotiatedContext>;
  readonly #requesterScp: ReadonlySet<string>;
  readonly #room: number;
  readonly #waiting = new Map<number, { resolve(command: Command): void; reject(error: Error): void }>();
  #messageId = 0;

  constructor(
    socket: Socket,
    contexts: ReadonlyMap<number, NegotiatedContext>,
    requesterScp: ReadonlySet<string>,
    peerMaxPdu: number,
  ) {
    this.#socket = socket;
    this.#contexts = contexts;
    this.#requesterScp = requesterScp;
    // PS3.8 D.1: 0 is "no limit"; 6 bytes of each PDU go to the PDV header.
    this.#room = peerMaxPdu > 12 ? peerMaxPdu - 6 : 16 * 1024;
  }

  contextFor(meta: FileMeta): number | undefined {
    if (!this.#requesterScp.has(meta.sopClassUid)) return undefined;
    for (const [id, context] of this.#contexts)
      if (context.abstractSyntax === meta.sopClassUid && context.transferSyntax === meta.transferSyntaxUid) return id;
    return undefined;
  }

  /** A C-STORE-RSP from the requester: true when it answered one of ours. */
  onResponse(command: Command): boolean {
    const waiter = this.#waiting.get(command.messageIdBeingRespondedTo);
    if (waiter === undefined) return false;
    this.#waiting.delete(command.messageIdBeingRespondedTo);
    waiter.resolve(command);
    return true;
  }

  close(): void {
    for (const waiter of this.#waiting.values()) waiter.reject(new Error('the association closed'));
    this.#waiting.clear();
  }

  async store(contextId: number, meta: FileMeta, filePath: string): Promise<Command> {
    this.#messageId = (this.#messageId % 0xffff) + 1;
    const messageId = this.#messageId;
    const answered = new Promise<Command>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(messageId);
        reject(new Error(`no C-STORE-RSP in ${responseTimeoutMs} ms`));
      }, responseTimeoutMs);
      const done =
        <T>(settle: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          settle(value);
        };
      this.#waiting.set(messageId, { resolve: done(resolve), reject: done(reject) });
    });
    answered.catch(() => undefined);
    const command = encodeCStoreRq(messageId, meta.sopClassUid, meta.sopInstanceUid);
    this.#socket.write(Buffer.concat([pDataHeader(contextId, command.length, true, true), command]));
    await this.#writeDataset(contextId, meta, filePath);
    return answered;
  }

  async #writeDataset(contextId: number, meta: FileMeta, filePath: string): Promise<void> {
    const file = await open(filePath, 'r');
    try {
      const size = (await file.stat()).size;
      const block = Buffer.allocUnsafe(readBlock);
      for (let at = meta.datasetOffset; at < size; ) {
        const { bytesRead } = await file.read(block, 0, Math.min(readBlock, size - at), at);
        if (bytesRead === 0) throw new Error(`${filePath} ended early`);
        for (let cut = 0; cut < bytesRead; cut += this.#room) {
          const piece = Buffer.from(block.subarray(cut, Math.min(cut + this.#room, bytesRead)));
          const last = at + cut + piece.length >= size;
          if (this.#socket.destroyed) throw new Error('the association closed');
          const flushed = this.#socket.write(Buffer.concat([pDataHeader(contextId, piece.length, false, last), piece]));
          if (!flushed) await new Promise((resolve) => this.#socket.once('drain', resolve));
        }
        at += bytesRead;
      }
    } finally {
      await file.close();
    }
  }
}

export class GetExchange extends RequestExchange {
  readonly #service: GetService;
  readonly #sender: SubOperationSender;

  constructor(
    command: Command,
    contextId: number,
    transferSyntaxUid: string,
    service: GetService,
    sender: SubOperationSender,
  ) {
    super(command, contextId, transferSyntaxUid, retrieveStatus.badIdentifier);
    this.#service = service;
    this.#sender = sender;
  }

  override async run(callingAe: string, write: ResponseWriter, log: Logger): Promise<void> {
    let filePaths: string[];
    try {
      filePaths = await this.#service({
        callingAe,
        sopClassUid: this.command.affectedSopClassUid,
        identifier: this.decodeIdentifier(),
      });
    } catch (error) {
      const status = error instanceof ServiceRefusal ? error.status : retrieveStatus.failed;
      log.warn('C-GET refused', { status: `0x${status.toString(16)}` });
      log.debug('C-GET refused', {}, { error: errorText(error) });
      write(encodeResponse(this.command, status, errorText(error)));
      return;
    }
    const tally = new SubOperationTally(filePaths.length);
    const unanswered: Array<{ sopInstanceUid?: string }> = [];
    let reason: string | undefined;
    for (const filePath of filePaths) {
      if (this.cancelled) break;
      let meta: FileMeta;
      try {
        meta = readMeta(filePath);
      } catch (error) {
        reason = `cannot read a stored file: ${errorText(error)}`;
        tally.record({ state: 'failure' }, this.command, write);
        continue;
      }
      const contextId = this.#sender.contextFor(meta);
      if (contextId === undefined) {
        reason = `no accepted context with SCP role for ${meta.sopClassUid} in ${meta.transferSyntaxUid}`;
        tally.record({ state: 'failure', sopInstanceUid: meta.sopInstanceUid }, this.command, write);
        continue;
      }
      try {
        const response = await this.#sender.store(contextId, meta, filePath);
        tally.record({ state: storeState(response.status), sopInstanceUid: meta.sopInstanceUid }, this.command, write);
      } catch (error) {
        reason = errorText(error);
        // The rest count as failed too (dicom/sub-operations.ts); their UIDs would cost a read each for nothing.
        unanswered.push({ sopInstanceUid: meta.sopInstanceUid });
        break;
      }
    }
    const status = tally.finish(this.command, write, {
      cancelled: this.cancelled,
      unanswered,
      implicit: this.identifier.implicit,
      ...(reason === undefined ? {} : { reason }),
    });
    log.info('C-GET answered', { status: `0x${status.toString(16)}`, ...tally.counts });
  }
}

/** PS3.4 B.2.3: 0x0000 success; 0x0001 and 0xBxxx warnings; anything else a failure. */
function storeState(status: number): 'success' | 'warning' | 'failure' {
  if (status === 0) return 'success';
  if (status === 0x0001 || (status & 0xf000) === 0xb000) return 'warning';
  return 'failure';
}

function readMeta(filePath: string): FileMeta {
  const fd = openSync(filePath, 'r');
  try {
    return readFileMetaSync(fd, filePath);
  } finally {
    closeSync(fd);
  }
}
