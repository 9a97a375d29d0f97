// One C-FIND on the SCP (PS3.7 9.1.2, PS3.4 C.4.1): the identifier is collected (dicom/scp-exchange.ts), decoded, handed to the query service of its SOP class, and each match is answered as a pending response
// (0xFF00) with its identifier; then success, or 0xFE00 once a C-CANCEL-RQ naming this message arrived (checked
// between matches, PS3.7 9.1.2.1.6). The service's failure is a failure status with a comment, never an abort.
import type { Logger } from '../runtime/log.ts';
import { errorText } from '../runtime/log.ts';
import { type Command, encodeResponse } from './command.ts';
import { type Dataset, encodeDataset } from './dataset-codec.ts';
import { RequestExchange, type ResponseWriter, ServiceRefusal } from './scp-exchange.ts';

export const findSopClasses = {
  /** Modality Worklist Information Model - FIND (PS3.4 K.6.1.2). */
  worklist: '1.2.840.10008.5.1.4.31',
  /** Study Root Query/Retrieve Information Model - FIND (PS3.4 C.6.2.1). */
  studyRoot: '1.2.840.10008.5.1.4.1.2.2.1',
} as const;

export interface FindRequest {
  callingAe: string;
  sopClassUid: string;
  identifier: Dataset;
  /** True once the SCU sent C-CANCEL-RQ: the service may stop reading early. */
  cancelled(): boolean;
}

/** A query service: the identifiers of the matches, in the order to answer them. */
export type FindService = (request: FindRequest) => AsyncIterable<Dataset>;

const findStatus = { pending: 0xff00, success: 0x0000, cancel: 0xfe00, badIdentifier: 0xa900, failed: 0xc000 };

export class FindExchange extends RequestExchange {
  readonly #service: FindService;

  constructor(command: Command, contextId: number, transferSyntaxUid: string, service: FindService) {
    super(command, contextId, transferSyntaxUid, findStatus.badIdentifier);
    this.#service = service;
  }

  override async run(callingAe: string, write: ResponseWriter, log: Logger): Promise<void> {
    let matches = 0;
    try {
      const identifier = this.decodeIdentifier();
      const request: FindRequest = {
        callingAe,
        sopClassUid: this.command.affectedSopClassUid,
        identifier,
        cancelled: () => this.cancelled,
      };
      for await (const match of this.#service(request)) {
        if (this.cancelled) break;
        write(
          encodeResponse(this.command, findStatus.pending, undefined, true),
          encodeDataset(match, this.identifier.implicit),
        );
        matches++;
        // Let the socket's input in between matches, or a C-CANCEL-RQ would wait behind the whole answer.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      const status = error instanceof ServiceRefusal ? error.status : findStatus.failed;
      // A service's error may quote the query (a patient name): its text goes to debug only.
      log.warn('C-FIND failed', { status: `0x${status.toString(16)}` });
      log.debug('C-FIND failed', { status: `0x${status.toString(16)}` }, { error: errorText(error) });
      write(encodeResponse(this.command, status, errorText(error)));
      return;
    }
    const status = this.cancelled ? findStatus.cancel : findStatus.success;
    write(encodeResponse(this.command, status));
    log.info('C-FIND answered', { sopClassUid: this.command.affectedSopClassUid, matches, cancelled: this.cancelled });
  }
}

export { findStatus };
