// What C-FIND, C-MOVE and C-GET on the SCP have in common (PS3.7 9.1.2, 9.1.4): the request's identifier data set arrives
// in PDVs after the command (a few hundred bytes; a larger one is a broken or hostile peer), then the request is
// answered by responses written in order, and a C-CANCEL-RQ naming its message id may arrive meanwhile.
import type { Logger } from '../runtime/log.ts';
import type { Command } from './command.ts';
import { type Dataset, DatasetError, decodeDataset } from './dataset-codec.ts';
import { transferSyntax } from './part10.ts';

/** Writes a response command and, when it has one, its data set. */
export type ResponseWriter = (command: Buffer, dataset?: Buffer) => void;

/** A request with an identifier, on one association; the association routes PDVs and C-CANCEL-RQ to it. */
export interface IdentifierExchange {
  readonly command: Command;
  readonly contextId: number;
  push(piece: Buffer): void;
  cancel(): void;
  /** Answers the request completely; never throws (a write to a closed socket is the caller's to ignore). */
  run(callingAe: string, write: ResponseWriter, log: Logger): Promise<void>;
}

/** A request the service refuses with a status of its own (0xA900 a bad identifier, 0xC000 cannot process...). */
export class ServiceRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const maxIdentifierBytes = 64 * 1024;

export class IdentifierPieces {
  readonly implicit: boolean;
  readonly #pieces: Buffer[] = [];
  #bytes = 0;

  constructor(transferSyntaxUid: string) {
    this.implicit = transferSyntaxUid === transferSyntax.implicitLittle;
  }

  push(piece: Buffer): void {
    this.#bytes += piece.length;
    if (this.#bytes > maxIdentifierBytes) throw new Error('identifier larger than 64 KiB');
    this.#pieces.push(piece);
  }

  /** Throws DatasetError for an identifier that does not decode. */
  decode(): Dataset {
    return decodeDataset(Buffer.concat(this.#pieces), this.implicit);
  }
}

/**
 * The part every exchange shares: its command and context, the identifier's pieces as they arrive, the cancel
 * flag, and decoding the identifier, refused with the service's own status when it does not decode.
 */
export abstract class RequestExchange implements IdentifierExchange {
  readonly command: Command;
  readonly contextId: number;
  protected readonly identifier: IdentifierPieces;
  protected cancelled = false;
  readonly #badIdentifierStatus: number;

  protected constructor(command: Command, contextId: number, transferSyntaxUid: string, badIdentifierStatus: number) {
    this.command = command;
    this.contextId = contextId;
    this.identifier = new IdentifierPieces(transferSyntaxUid);
    this.#badIdentifierStatus = badIdentifierStatus;
  }

  push(piece: Buffer): void {
    this.identifier.push(piece);
  }

  cancel(): void {
    this.cancelled = true;
  }

  abstract run(callingAe: string, write: ResponseWriter, log: Logger): Promise<void>;

  protected decodeIdentifier(): Dataset {
    try {
      return this.identifier.decode();
    } catch (error) {
      if (error instanceof DatasetError)
        throw new ServiceRefusal(this.#badIdentifierStatus, `identifier: ${error.message}`);
      throw error;
    }
  }
}
