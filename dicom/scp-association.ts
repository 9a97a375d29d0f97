// One accepted TCP connection on the SCP: association negotiation (PS3.8 9.1; what is accepted in
// dicom/scp-negotiation.ts), then C-ECHO, C-STORE, C-FIND, C-MOVE and C-GET (PS3.7 9.1; the exchanges themselves
// in dicom/scp-find.ts, scp-move.ts and scp-get.ts) one message at a time, then release or abort. The socket is paused whenever the disk falls
// behind, so the peer is slowed by TCP flow control instead of by our memory.
import { randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { ConnectionGuard } from '../runtime/listener.ts';
import type { Logger } from '../runtime/log.ts';
import { errorText } from '../runtime/log.ts';
import { commandField, decodeCommand, encodeResponse, type Command } from './command.ts';
import type { IdentifierExchange } from './scp-exchange.ts';
import { FindExchange, type FindService } from './scp-find.ts';
import { GetExchange, type GetService, SubOperationSender } from './scp-get.ts';
import { MoveExchange, type MoveService } from './scp-move.ts';
import { negotiate } from './scp-negotiation.ts';
import { sendFiles } from './scu.ts';
import { IncomingInstance, logStoreOutcome, type OnStored, type StoreResult } from './incoming-instance.ts';
import {
  decodeAssociateRq,
  encodeAbort,
  encodeAssociateAc,
  encodeAssociateRj,
  encodeReleaseRp,
  pDataHeader,
  presentationRejectReason,
  pduType,
  rejectReason,
  rejectResult,
  rejectSource,
  type AssociateRq,
} from './pdu.ts';
import { PduReader } from './pdu-reader.ts';
import type { TempFiles } from './temp-files.ts';

export interface AssociationSettings {
  aeTitle: string;
  storageDir: string;
  storageDirHandle: FileHandle;
  temps: TempFiles;
  syncStorage: boolean;
  handOver: boolean;
  maxPduLength: number;
  highWaterMark: number;
  associationRequestTimeoutMs: number;
  idleTimeoutMs: number;
  isKnownCallingAe(ae: string): boolean | Promise<boolean>;
  onInstanceStored: OnStored;
  findServices: ReadonlyMap<string, FindService>;
  moveServices: ReadonlyMap<string, MoveService>;
  getServices: ReadonlyMap<string, GetService>;
  /** Takes one of the SCP's association slots for `callingAe`; false when all are in use. */
  admit(callingAe: string): boolean;
  /** Gives the slot back. */
  leave(): void;
  /** Reports a limit hit (logged once per connection, counted in /metrics). */
  guard: ConnectionGuard;
  log: Logger;
}

/** Command sets are a few hundred bytes; a larger one is a broken or hostile peer. */
const maxCommandLength = 64 * 1024;

type Phase = 'awaiting-request' | 'negotiating' | 'established' | 'released' | 'closed';

export class ScpAssociation {
  readonly #socket: Socket;
  readonly #settings: AssociationSettings;
  readonly #reader: PduReader;
  readonly closed: Promise<void>;
  #log: Logger;
  #phase: Phase = 'awaiting-request';
  #callingAe = '';
  #calledAe = '';
  #contexts = new Map<number, { abstractSyntax: string; transferSyntax: string }>();
  #commandPieces: Buffer[] = [];
  #commandLength = 0;
  #pending: { command: Command; contextId: number } | undefined;
  #instance: IncomingInstance | undefined;
  /** The C-FIND or C-MOVE whose identifier is arriving, then the ones being answered (by message id, for C-CANCEL). */
  #find: IdentifierExchange | undefined;
  readonly #finds = new Map<number, IdentifierExchange>();
  /** The peer's largest PDU (PS3.8 D.1): C-FIND identifiers are cut to fit it. */
  #peerMaxPdu = 0;
  /** C-GET's C-STORE sub-operations, once the association is accepted. */
  #subOperations: SubOperationSender | undefined;
  /** Responses go out in request order; each store's finish() is chained on the previous one. */
  #responses: Promise<void> = Promise.resolve();
  #artim: NodeJS.Timeout;
  #admitted = false;
  /** Responses not yet written (a store being recorded): the peer is waiting for us. */
  #outstanding = 0;
  readonly #id = randomUUID();

  constructor(socket: Socket, settings: AssociationSettings) {
    this.#socket = socket;
    this.#settings = settings;
    this.#log = settings.log.child({
      association: this.#id,
      peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
    });
    socket.setNoDelay(true);
    this.#reader = new PduReader({
      pdu: (type, body) => this.#onPdu(type, body),
      pdv: (id, isCommand, piece, end) => this.#onPdv(id, isCommand, piece, end),
    });
    // ARTIM (PS3.8 9.1.5): a connection that never asks for an association must not hold a slot forever.
    this.#artim = setTimeout(() => {
      settings.guard.hit('read-timeout', { ms: settings.associationRequestTimeoutMs });
      this.#abort('no A-ASSOCIATE-RQ in time');
    }, settings.associationRequestTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#log.warn('association socket error', { error: error.message }));
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#onClose();
        resolve();
      });
    });
  }

  /**
   * The listener saw no byte either way for its idle time. While a store is being recorded the peer waits for
   * us, so that is not idle; otherwise the association is aborted (PS3.8 9.1.5 leaves idle time to the SCP).
   */
  idle(): boolean {
    if (this.#instance !== undefined || this.#outstanding > 0 || this.#phase === 'negotiating') return true;
    this.#settings.guard.hit('idle-timeout', { ms: this.#settings.idleTimeoutMs });
    this.#abort('idle timeout');
    return true;
  }

  /** Used by stop() once its grace period is over. */
  abort(reason: string): void {
    this.#abort(reason);
  }

  #onData(chunk: Buffer): void {
    if (this.#phase === 'closed') return;
    try {
      this.#reader.push(chunk);
    } catch (error) {
      this.#abort(`protocol error: ${errorText(error)}`);
    }
  }

  #onPdu(type: number, body: Buffer): void {
    if (type === pduType.associateRq && this.#phase === 'awaiting-request') return void this.#negotiate(body);
    if (type === pduType.releaseRq && this.#phase === 'established') return void this.#release();
    if (type === pduType.abort) {
      this.#log.info('association aborted by peer', { callingAe: this.#callingAe });
      this.#socket.destroy();
      return;
    }
    throw new Error(`unexpected PDU type 0x${type.toString(16)} in phase ${this.#phase}`);
  }

  async #negotiate(body: Buffer): Promise<void> {
    clearTimeout(this.#artim);
    this.#phase = 'negotiating';
    // No P-DATA may arrive before our answer; pausing keeps a misbehaving peer from racing the async AE check.
    this.#socket.pause();
    let rq: AssociateRq;
    try {
      rq = decodeAssociateRq(body);
    } catch (error) {
      return this.#abort(`bad A-ASSOCIATE-RQ: ${errorText(error)}`);
    }
    this.#callingAe = rq.callingAe;
    this.#calledAe = rq.calledAe;
    this.#peerMaxPdu = rq.maxPduLength;
    this.#log = this.#log.child({ callingAe: rq.callingAe });
    const reason = await this.#rejectReason(rq);
    if (reason !== undefined) {
      this.#log.info('association rejected', {
        calledAe: rq.calledAe,
        reason: reason === rejectReason.calledAe ? 'called AE title not ours' : 'calling AE title not recognised',
      });
      this.#phase = 'closed';
      // PS3.8 9.3.4: rejected-permanent from the service user; the requestor closes, we end our side after it.
      this.#socket.end(encodeAssociateRj({ result: rejectResult.permanent, source: rejectSource.serviceUser, reason }));
      // Read on so the peer's FIN (or A-ABORT) is seen and the socket closes; force it if the peer lingers.
      this.#socket.resume();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
      return;
    }
    if (!this.#settings.admit(rq.callingAe)) return this.#rejectBusy();
    this.#admitted = true;
    const { findServices, moveServices, getServices } = this.#settings;
    const services = new Set([...findServices.keys(), ...moveServices.keys(), ...getServices.keys()]);
    const negotiated = negotiate(rq, { services, retrievesByGet: getServices.size > 0 });
    this.#contexts = negotiated.contexts;
    this.#subOperations = new SubOperationSender(
      this.#socket,
      negotiated.contexts,
      negotiated.requesterScp,
      rq.maxPduLength,
    );
    this.#phase = 'established';
    this.#socket.write(encodeAssociateAc(rq, negotiated.results, this.#settings.maxPduLength, negotiated.roles));
    this.#socket.resume();
    this.#log.info('association accepted', { calledAe: rq.calledAe, contexts: this.#contexts.size });
  }

  /**
   * All association slots are in use: PS3.8 9.3.4 rejected-transient, source service-provider (presentation),
   * local limit exceeded. The SCU tries again later; no instance is refused that could have been stored.
   */
  #rejectBusy(): void {
    this.#settings.guard.hit('associations');
    this.#phase = 'closed';
    const rj = {
      result: rejectResult.transient,
      source: rejectSource.presentation,
      reason: presentationRejectReason.localLimitExceeded,
    };
    this.#socket.end(encodeAssociateRj(rj));
    this.#socket.resume();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  async #rejectReason(rq: AssociateRq): Promise<number | undefined> {
    if (rq.calledAe !== this.#settings.aeTitle) return rejectReason.calledAe;
    try {
      if (!(await this.#settings.isKnownCallingAe(rq.callingAe))) return rejectReason.callingAe;
    } catch (error) {
      this.#log.error('isKnownCallingAe failed; rejecting', { error: errorText(error) });
      return rejectReason.callingAe;
    }
    return undefined;
  }

  #onPdv(contextId: number, isCommand: boolean, piece: Buffer, endOfMessage: boolean): void {
    if (this.#phase !== 'established') throw new Error(`P-DATA-TF in phase ${this.#phase}`);
    if (isCommand) return this.#onCommandPiece(contextId, piece, endOfMessage);
    if (this.#find !== undefined) return this.#onIdentifierPiece(contextId, piece, endOfMessage);
    const pending = this.#pending;
    const instance = this.#instance;
    if (pending === undefined || instance === undefined) throw new Error('data set fragment without a C-STORE command');
    if (pending.contextId !== contextId)
      throw new Error(`data set on presentation context ${contextId}, command on ${pending.contextId}`);
    if (!instance.push(piece, () => this.#socket.resume())) this.#socket.pause();
    if (endOfMessage) this.#storeComplete(pending, instance);
  }

  #onCommandPiece(contextId: number, piece: Buffer, endOfMessage: boolean): void {
    this.#commandLength += piece.length;
    if (this.#commandLength > maxCommandLength) throw new Error('command set larger than 64 KiB');
    this.#commandPieces.push(piece);
    if (!endOfMessage) return;
    const command = decodeCommand(Buffer.concat(this.#commandPieces));
    this.#commandPieces = [];
    this.#commandLength = 0;
    const context = this.#contexts.get(contextId);
    if (context === undefined) throw new Error(`command on presentation context ${contextId}, which was not accepted`);
    if (this.#pending !== undefined) throw new Error('a new command arrived before the previous data set ended');
    // A C-GET's sub-operation answered (the one requester-to-us response; PS3.7 9.1.3).
    if (command.commandField === commandField.cStoreRsp && this.#subOperations?.onResponse(command)) return;
    if (command.commandField === commandField.cEchoRq) {
      this.#respond(contextId, command, Promise.resolve({ status: 0 }));
      return;
    }
    // PS3.7 9.3.2.3: C-CANCEL-RQ names the C-FIND it cancels; one already answered is ignored.
    if (command.commandField === commandField.cCancelRq)
      return void this.#finds.get(command.messageIdBeingRespondedTo)?.cancel();
    const exchange = this.#exchangeFor(command, contextId, context);
    if (exchange !== undefined) {
      if (this.#find !== undefined) throw new Error('a new command arrived before the previous identifier ended');
      this.#find = exchange;
      return;
    }
    if (command.commandField !== commandField.cStoreRq)
      throw new Error(`command field 0x${command.commandField.toString(16)} is not supported`);
    if (command.affectedSopClassUid !== context.abstractSyntax)
      throw new Error(`C-STORE of ${command.affectedSopClassUid} on a context for ${context.abstractSyntax}`);
    this.#pending = { command, contextId };
    this.#instance = new IncomingInstance({
      command,
      associationId: this.#id,
      transferSyntaxUid: context.transferSyntax,
      callingAe: this.#callingAe,
      calledAe: this.#calledAe,
      storageDir: this.#settings.storageDir,
      storageDirHandle: this.#settings.storageDirHandle,
      temps: this.#settings.temps,
      highWaterMark: this.#settings.highWaterMark,
      syncStorage: this.#settings.syncStorage,
      handOver: this.#settings.handOver,
    });
  }

  #exchangeFor(
    command: Command,
    contextId: number,
    context: { abstractSyntax: string; transferSyntax: string },
  ): IdentifierExchange | undefined {
    const find = this.#settings.findServices.get(context.abstractSyntax);
    if (command.commandField === commandField.cFindRq && find !== undefined)
      return new FindExchange(command, contextId, context.transferSyntax, find);
    const move = this.#settings.moveServices.get(context.abstractSyntax);
    if (command.commandField === commandField.cMoveRq && move !== undefined)
      return new MoveExchange(command, contextId, context.transferSyntax, move, sendFiles);
    const get = this.#settings.getServices.get(context.abstractSyntax);
    if (command.commandField === commandField.cGetRq && get !== undefined && this.#subOperations !== undefined)
      return new GetExchange(command, contextId, context.transferSyntax, get, this.#subOperations);
    return undefined;
  }

  #onIdentifierPiece(contextId: number, piece: Buffer, endOfMessage: boolean): void {
    const find = this.#find!;
    if (find.contextId !== contextId)
      throw new Error(`identifier on context ${contextId}, its request on ${find.contextId}`);
    find.push(piece);
    if (!endOfMessage) return;
    this.#find = undefined;
    const { messageId } = find.command;
    this.#finds.set(messageId, find);
    this.#outstanding++;
    const write = (command: Buffer, dataset?: Buffer) => this.#writeMessage(contextId, command, dataset);
    this.#responses = this.#responses
      .then(() => find.run(this.#callingAe, write, this.#log))
      .finally(() => {
        this.#finds.delete(messageId);
        this.#outstanding--;
      });
  }

  /** A command and its data set, the data set cut into PDVs that fit the peer's largest PDU. */
  #writeMessage(contextId: number, command: Buffer, dataset?: Buffer): void {
    if (this.#phase === 'closed' || this.#socket.destroyed) return;
    this.#socket.cork();
    this.#socket.write(pDataHeader(contextId, command.length, true, true));
    this.#socket.write(command);
    const room = this.#peerMaxPdu > 12 ? this.#peerMaxPdu - 6 : 16 * 1024;
    for (let at = 0; dataset !== undefined && at < Math.max(dataset.length, 1); at += room) {
      const piece = dataset.subarray(at, at + room);
      this.#socket.write(pDataHeader(contextId, piece.length, false, at + room >= dataset.length));
      this.#socket.write(piece);
    }
    this.#socket.uncork();
  }

  #storeComplete(pending: { command: Command; contextId: number }, instance: IncomingInstance): void {
    this.#pending = undefined;
    this.#instance = undefined;
    const result = instance.finish(this.#settings.onInstanceStored);
    this.#respond(pending.contextId, pending.command, result);
  }

  #respond(contextId: number, command: Command, result: Promise<StoreResult>): void {
    this.#outstanding++;
    this.#responses = this.#responses
      .then(async () => {
        const outcome = await result;
        logStoreOutcome(this.#log, command, outcome);
        this.#writeMessage(contextId, encodeResponse(command, outcome.status, outcome.comment));
      })
      .catch((error: unknown) => this.#abort(`cannot answer: ${errorText(error)}`))
      .finally(() => this.#outstanding--);
  }

  async #release(): Promise<void> {
    this.#phase = 'released';
    await this.#responses;
    if (this.#socket.destroyed) return;
    this.#socket.end(encodeReleaseRp());
    this.#log.info('association released');
  }

  #abort(reason: string): void {
    if (this.#socket.destroyed) return;
    if (this.#phase === 'closed') return void this.#socket.destroy();
    this.#log.warn('association aborted', { reason });
    this.#phase = 'closed';
    // Source 2 = service provider, reason 0 = not specified (PS3.8 table 9-26).
    this.#socket.end(encodeAbort(2, 0));
    // Do not wait for a peer that stopped reading; the A-ABORT is best effort.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #onClose(): void {
    clearTimeout(this.#artim);
    if (this.#admitted) this.#settings.leave();
    this.#admitted = false;
    this.#phase = 'closed';
    const instance = this.#instance;
    this.#instance = undefined;
    this.#pending = undefined;
    instance?.abandon();
    for (const find of this.#finds.values()) find.cancel();
    this.#subOperations?.close();
  }
}
