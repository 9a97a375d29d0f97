// One C-MOVE on the SCP (PS3.7 9.1.4, PS3.4 C.4.2): the identifier says which study, series or instances; the
// move service resolves them to stored files and the Move Destination AE to a configured peer; the hub then sends
// them over its own C-STORE SCU association (dicom/scu.ts, streamed from disk) and answers pending responses with
// the sub-operation counts as instances are answered, then the final status: success; 0xB000 when some failed or
// warned (with the failed SOP Instance UIDs); 0xA702 when none could be sent (the destination is down); 0xFE00
// after a C-CANCEL-RQ; or the service's refusal (0xA801 unknown destination, 0xA900 a bad identifier).
import type { Logger } from '../runtime/log.ts';
import { errorText } from '../runtime/log.ts';
import { type Command, encodeResponse, type SubOperations } from './command.ts';
import { type Dataset, DatasetError, encodeDataset } from './dataset-codec.ts';
import { IdentifierPieces, type IdentifierExchange, type ResponseWriter, ServiceRefusal } from './scp-exchange.ts';
import type { ScuPeer, SendOutcome } from './scu.ts';

export const moveSopClasses = {
  /** Study Root Query/Retrieve Information Model - MOVE (PS3.4 C.6.2.1). */
  studyRoot: '1.2.840.10008.5.1.4.1.2.2.2',
} as const;

export const moveStatus = {
  pending: 0xff00,
  success: 0x0000,
  cancel: 0xfe00,
  someFailed: 0xb000,
  /** Refused: out of resources, unable to perform sub-operations (the destination could not be reached). */
  unableToSend: 0xa702,
  unknownDestination: 0xa801,
  badIdentifier: 0xa900,
  failed: 0xc000,
} as const;

export interface MoveRequest {
  callingAe: string;
  sopClassUid: string;
  /** (0000,0600) as sent, trimmed. */
  moveDestination: string;
  identifier: Dataset;
}

/** What a C-MOVE sends where. */
export interface MovePlan {
  destination: ScuPeer;
  filePaths: string[];
}

/** Sends files to a peer, one association (dicom/scu.ts sendFiles, or a stand-in in tests of this file). */
export type MoveSender = (
  peer: ScuPeer,
  filePaths: readonly string[],
  options: { onOutcome: (outcome: SendOutcome) => void; stopWhen: () => boolean; log: Logger },
) => Promise<SendOutcome[]>;

/** Resolves a request; throws ServiceRefusal for what the requester got wrong. */
export type MoveService = (request: MoveRequest) => Promise<MovePlan>;

/** PS3.4 C.4.2.1.4: (0008,0058) Failed SOP Instance UID List, in the final response of a move with failures. */
const failedSopInstanceUidList = '00080058';
/** Pending responses are for people watching a progress bar: at most this often. */
const pendingEveryMs = 250;

export class MoveExchange implements IdentifierExchange {
  readonly command: Command;
  readonly contextId: number;
  readonly #service: MoveService;
  readonly #send: MoveSender;
  readonly #identifier: IdentifierPieces;
  #cancelled = false;

  constructor(command: Command, contextId: number, transferSyntaxUid: string, service: MoveService, send: MoveSender) {
    this.command = command;
    this.contextId = contextId;
    this.#service = service;
    this.#send = send;
    this.#identifier = new IdentifierPieces(transferSyntaxUid);
  }

  push(piece: Buffer): void {
    this.#identifier.push(piece);
  }

  cancel(): void {
    this.#cancelled = true;
  }

  async run(callingAe: string, write: ResponseWriter, log: Logger): Promise<void> {
    let plan: MovePlan;
    try {
      plan = await this.#service({
        callingAe,
        sopClassUid: this.command.affectedSopClassUid,
        moveDestination: this.command.moveDestination,
        identifier: this.#decode(),
      });
    } catch (error) {
      const status = error instanceof ServiceRefusal ? error.status : moveStatus.failed;
      log.warn('C-MOVE refused', { status: `0x${status.toString(16)}`, moveDestination: this.command.moveDestination });
      log.debug('C-MOVE refused', {}, { error: errorText(error) });
      write(encodeResponse(this.command, status, errorText(error)));
      return;
    }
    const counts: SubOperations = { remaining: plan.filePaths.length, completed: 0, failed: 0, warning: 0 };
    const failedUids: string[] = [];
    let lastPending = 0;
    const outcomes = await this.#send(plan.destination, plan.filePaths, {
      log,
      stopWhen: () => this.#cancelled,
      onOutcome: (outcome) => {
        counts.remaining--;
        if (outcome.state === 'success') counts.completed++;
        else if (outcome.state === 'warning') counts.warning++;
        else {
          counts.failed++;
          if (outcome.sopInstanceUid) failedUids.push(outcome.sopInstanceUid);
        }
        const now = Date.now();
        if (counts.remaining > 0 && now - lastPending >= pendingEveryMs) {
          lastPending = now;
          write(encodeResponse(this.command, moveStatus.pending, undefined, false, counts));
        }
      },
    });
    // Files never answered (the association failed, or a cancel stopped it): failed unless cancelled (PS3.4 C.4.2.3.1).
    const unanswered = outcomes.filter((o) => o.state === 'not-sent');
    const answered = counts.completed + counts.failed + counts.warning;
    if (this.#cancelled) {
      counts.remaining = plan.filePaths.length - answered;
    } else {
      const lost = plan.filePaths.length - answered;
      counts.failed += lost;
      counts.remaining = 0;
      for (const outcome of unanswered) if (outcome.sopInstanceUid) failedUids.push(outcome.sopInstanceUid);
    }
    const status = this.#cancelled
      ? moveStatus.cancel
      : answered === 0 && plan.filePaths.length > 0
        ? moveStatus.unableToSend
        : counts.failed > 0 || counts.warning > 0
          ? moveStatus.someFailed
          : moveStatus.success;
    const reason = unanswered.find((o) => o.reason)?.reason;
    log.info('C-MOVE answered', {
      moveDestination: this.command.moveDestination,
      status: `0x${status.toString(16)}`,
      ...counts,
    });
    if (failedUids.length > 0) {
      const list: Dataset = new Map([[failedSopInstanceUidList, { vr: 'UI', value: failedUids.join('\\') }]]);
      write(encodeResponse(this.command, status, reason, true, counts), encodeDataset(list, this.#identifier.implicit));
      return;
    }
    write(encodeResponse(this.command, status, reason, false, counts));
  }

  #decode(): Dataset {
    try {
      return this.#identifier.decode();
    } catch (error) {
      if (error instanceof DatasetError)
        throw new ServiceRefusal(moveStatus.badIdentifier, `identifier: ${error.message}`);
      throw error;
    }
  }
}
