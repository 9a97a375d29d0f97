// The C-STORE sub-operations of a C-MOVE or C-GET (PS3.4 C.4.2.3, C.4.3.3): counted as each is answered, told to
// the requester in pending responses (at most a few a second: they are for a progress bar), and summed up in the
// final response: success; 0xB000 when some failed or warned, with the failed SOP Instance UIDs in an identifier;
// 0xA702 when none could be performed; 0xFE00 after a C-CANCEL-RQ, with what remained.
import { type Command, encodeResponse, type SubOperations } from './command.ts';
import { type Dataset, encodeDataset } from './dataset-codec.ts';
import type { ResponseWriter } from './scp-exchange.ts';
import type { SendOutcome } from './scu.ts';

export const retrieveStatus = {
  pending: 0xff00,
  success: 0x0000,
  cancel: 0xfe00,
  someFailed: 0xb000,
  /** Refused: out of resources, unable to perform sub-operations. */
  unableToPerform: 0xa702,
  unknownDestination: 0xa801,
  badIdentifier: 0xa900,
  failed: 0xc000,
} as const;

/** PS3.4 C.4.2.1.4: (0008,0058) Failed SOP Instance UID List. */
const failedSopInstanceUidList = '00080058';
const pendingEveryMs = 250;

export class SubOperationTally {
  readonly counts: SubOperations;
  readonly #total: number;
  readonly #failedUids: string[] = [];
  #lastPending = 0;

  constructor(total: number) {
    this.#total = total;
    this.counts = { remaining: total, completed: 0, failed: 0, warning: 0 };
  }

  /** Counts one answered sub-operation; writes a pending response when one is due. */
  record(outcome: Pick<SendOutcome, 'state' | 'sopInstanceUid'>, request: Command, write: ResponseWriter): void {
    const counts = this.counts;
    counts.remaining--;
    if (outcome.state === 'success') counts.completed++;
    else if (outcome.state === 'warning') counts.warning++;
    else {
      counts.failed++;
      if (outcome.sopInstanceUid) this.#failedUids.push(outcome.sopInstanceUid);
    }
    const now = Date.now();
    if (counts.remaining > 0 && now - this.#lastPending >= pendingEveryMs) {
      this.#lastPending = now;
      write(encodeResponse(request, retrieveStatus.pending, undefined, false, counts));
    }
  }

  /**
   * The final response. Sub-operations never answered are failures (their UIDs listed when known), unless a
   * cancel stopped them: then they remain (PS3.4 C.4.2.3.1).
   */
  finish(
    request: Command,
    write: ResponseWriter,
    end: {
      cancelled: boolean;
      unanswered: ReadonlyArray<{ sopInstanceUid?: string }>;
      reason?: string;
      implicit: boolean;
    },
  ): number {
    const counts = this.counts;
    const answered = counts.completed + counts.failed + counts.warning;
    if (end.cancelled) counts.remaining = this.#total - answered;
    else {
      counts.failed += this.#total - answered;
      counts.remaining = 0;
      for (const item of end.unanswered) if (item.sopInstanceUid) this.#failedUids.push(item.sopInstanceUid);
    }
    const status = end.cancelled
      ? retrieveStatus.cancel
      : answered === 0 && this.#total > 0
        ? retrieveStatus.unableToPerform
        : counts.failed > 0 || counts.warning > 0
          ? retrieveStatus.someFailed
          : retrieveStatus.success;
    if (this.#failedUids.length === 0) {
      write(encodeResponse(request, status, end.reason, false, counts));
      return status;
    }
    const list: Dataset = new Map([[failedSopInstanceUidList, { vr: 'UI', value: this.#failedUids.join('\\') }]]);
    write(encodeResponse(request, status, end.reason, true, counts), encodeDataset(list, end.implicit));
    return status;
  }
}
