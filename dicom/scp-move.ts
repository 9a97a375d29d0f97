// One C-MOVE on the SCP (PS3.7 9.1.4, PS3.4 C.4.2): the identifier says which study, series or instances; the
// move service resolves them to stored files and the Move Destination AE to a configured peer; the hub then sends
// them over its own C-STORE SCU association (dicom/scu.ts, streamed from disk), counting the sub-operations as
// dicom/sub-operations.ts says (0xA702 when the destination cannot be reached); a refusal of the service is its
// status (0xA801 unknown destination, 0xA900 a bad identifier).
import type { Logger } from '../runtime/log.ts';
import { errorText } from '../runtime/log.ts';
import { type Command, encodeResponse } from './command.ts';
import type { Dataset } from './dataset-codec.ts';
import { RequestExchange, type ResponseWriter, ServiceRefusal } from './scp-exchange.ts';
import type { ScuPeer, SendOutcome } from './scu.ts';
import { retrieveStatus, SubOperationTally } from './sub-operations.ts';

export const moveSopClasses = {
  /** Study Root Query/Retrieve Information Model - MOVE (PS3.4 C.6.2.1). */
  studyRoot: '1.2.840.10008.5.1.4.1.2.2.2',
} as const;

export const moveStatus = retrieveStatus;

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

export class MoveExchange extends RequestExchange {
  readonly #service: MoveService;
  readonly #send: MoveSender;

  constructor(command: Command, contextId: number, transferSyntaxUid: string, service: MoveService, send: MoveSender) {
    super(command, contextId, transferSyntaxUid, moveStatus.badIdentifier);
    this.#service = service;
    this.#send = send;
  }

  override async run(callingAe: string, write: ResponseWriter, log: Logger): Promise<void> {
    let plan: MovePlan;
    try {
      plan = await this.#service({
        callingAe,
        sopClassUid: this.command.affectedSopClassUid,
        moveDestination: this.command.moveDestination,
        identifier: this.decodeIdentifier(),
      });
    } catch (error) {
      const status = error instanceof ServiceRefusal ? error.status : moveStatus.failed;
      log.warn('C-MOVE refused', { status: `0x${status.toString(16)}`, moveDestination: this.command.moveDestination });
      log.debug('C-MOVE refused', {}, { error: errorText(error) });
      write(encodeResponse(this.command, status, errorText(error)));
      return;
    }
    const tally = new SubOperationTally(plan.filePaths.length);
    const outcomes = await this.#send(plan.destination, plan.filePaths, {
      log,
      stopWhen: () => this.cancelled,
      onOutcome: (outcome) => tally.record(outcome, this.command, write),
    });
    const unanswered = outcomes.filter((o) => o.state === 'not-sent');
    const reason = unanswered.find((o) => o.reason)?.reason;
    const status = tally.finish(this.command, write, {
      cancelled: this.cancelled,
      unanswered,
      implicit: this.identifier.implicit,
      ...(reason === undefined ? {} : { reason }),
    });
    log.info('C-MOVE answered', {
      moveDestination: this.command.moveDestination,
      status: `0x${status.toString(16)}`,
      ...tally.counts,
    });
  }
}
