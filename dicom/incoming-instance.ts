// One C-STORE data set on its way from the socket to disk: the Part-10 header is written first (from the command's
// UIDs and the accepted transfer syntax), then every PDV slice goes both to the file and to the walker that
// validates the stream and picks out the routing attributes. Nothing here holds more than a PDU's worth of data.
import { unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import type { Logger } from '../runtime/log.ts';
import { type Command, commandField } from './command.ts';
import { DatasetWalker, headerText, optionalHeaderKeys, type HeaderKey } from './dataset-walker.ts';
import { InstanceFile } from './instance-file.ts';
import { buildFileMeta, transferSyntax } from './part10.ts';
import type { TempFiles } from './temp-files.ts';

export interface StoredInstance {
  filePath: string;
  /** Same for every instance received in one association (a study usually arrives in one). */
  associationId: string;
  callingAe: string;
  calledAe: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  transferSyntaxUid: string;
  sizeBytes: number;
  patientId?: string;
  issuerOfPatientId?: string;
  patientName?: string;
  patientBirthDate?: string;
  patientSex?: string;
  accessionNumber?: string;
  studyDate?: string;
  studyTime?: string;
  studyId?: string;
  studyDescription?: string;
  seriesDescription?: string;
  seriesNumber?: string;
  instanceNumber?: string;
  modality?: string;
  institutionName?: string;
  numberOfFrames?: string;
  rows?: string;
  columns?: string;
  bitsAllocated?: string;
}

/**
 * C-STORE statuses (PS3.4 B.2.3, PS3.7 C.4.x):
 * - 0xC000 "Error: Cannot understand": the data set does not parse (truncated, bad element header) or lacks an
 *   identifying attribute we must have; resending the same bytes will fail the same way.
 * - 0xA900 "Error: Data Set does not match SOP Class": the data set's SOP Class/Instance UID contradicts the
 *   command; the meta header we wrote from the command would be a lie.
 * - 0xA700 "Refused: Out of Resources": the disk write/fsync/rename failed (ENOSPC, EIO), or the bytes were
 *   fine but recording the instance failed (onInstanceStored rejected). Either way it is the hub's trouble,
 *   not the data's, and a later retry may succeed, which is what A7xx tells a modality. PS3.7's general
 *   0x0110 "Processing failure" would fit the second case too, but it is not among the C-STORE statuses of
 *   PS3.4 B.2.3, and dcmtk's storescu reports it as "Unknown Status" and stops sending the rest.
 */
export const storeStatus = {
  success: 0x0000,
  outOfResources: 0xa700,
  doesNotMatchSopClass: 0xa900,
  cannotUnderstand: 0xc000,
} as const;

/**
 * Records a stored instance. `sealed` settles once the file's data are on disk: a handed-over file may be moved
 * and indexed meanwhile, but the answer waits for it too (and for a rejection of either, is a failure).
 */
export type OnStored = (instance: StoredInstance, sealed: Promise<void>) => Promise<void>;

export interface StoreResult {
  status: number;
  comment?: string;
  instance?: StoredInstance;
}

export interface IncomingContext {
  command: Command;
  associationId: string;
  transferSyntaxUid: string;
  callingAe: string;
  calledAe: string;
  storageDir: string;
  storageDirHandle: FileHandle;
  temps: TempFiles;
  highWaterMark: number;
  syncStorage: boolean;
  /** See ScpOptions.handOver: onStored gets the synced temp file and must move or remove it. */
  handOver: boolean;
}

/** Safe as a file name and a valid UID (PS3.5 9.1): digits and dots, at most 64 characters. */
const uidPattern = /^[0-9]+(\.[0-9]+)*$/;

class StoreRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class IncomingInstance {
  readonly #context: IncomingContext;
  readonly #walker: DatasetWalker;
  readonly #file: InstanceFile;
  /** Deflated data sets (PS3.5 A.5) are stored as received but walked through an inflater. */
  readonly #inflater: InflateRaw | undefined;
  #invalid: Error | undefined;

  constructor(context: IncomingContext) {
    this.#context = context;
    this.#walker = new DatasetWalker(context.transferSyntaxUid === transferSyntax.implicitLittle);
    if (context.transferSyntaxUid === transferSyntax.deflatedExplicitLittle) {
      const inflater = createInflateRaw();
      inflater.on('data', (chunk: Buffer) => this.#walk(chunk));
      inflater.on('error', (error) => this.#reject(error));
      this.#inflater = inflater;
    }
    this.#file = new InstanceFile(context.temps, context.storageDirHandle, context.highWaterMark, context.syncStorage);
    const { command } = context;
    const meta = buildFileMeta({
      sopClassUid: command.affectedSopClassUid,
      sopInstanceUid: command.affectedSopInstanceUid,
      transferSyntaxUid: context.transferSyntaxUid,
      sourceAe: context.callingAe,
    });
    this.#file.write(meta, () => undefined);
  }

  /** Returns false when the socket should pause until `onDrain`. */
  push(piece: Buffer, onDrain: () => void): boolean {
    if (this.#invalid !== undefined) return true;
    let inflaterReady = true;
    if (this.#inflater === undefined) this.#walk(piece);
    else if (!this.#inflater.write(piece)) {
      // Either the inflater or the disk can be the slow side; whichever drains resumes the socket, and the next
      // piece pauses it again if the other is still full.
      this.#inflater.once('drain', onDrain);
      inflaterReady = false;
    }
    if (this.#invalid !== undefined) return true;
    const fileReady = this.#file.write(piece, onDrain);
    return inflaterReady && fileReady;
  }

  #walk(bytes: Buffer): void {
    if (this.#invalid !== undefined) return;
    try {
      this.#walker.push(bytes);
    } catch (error) {
      this.#reject(error);
    }
  }

  #reject(error: unknown): void {
    this.#invalid ??= error instanceof Error ? error : new Error(String(error));
  }

  async #inflated(): Promise<void> {
    const inflater = this.#inflater;
    if (inflater === undefined) return;
    // 'close' follows both the end of the output and an error (autoDestroy); an inflater that already failed
    // is closed and would never emit again.
    if (inflater.closed || inflater.destroyed) return;
    await new Promise<void>((resolve) => {
      inflater.once('close', resolve);
      inflater.end();
    });
  }

  /**
   * Called once the last data fragment arrived; resolves with the status to answer. Never throws. Handed over,
   * the file's fdatasync runs while onStored records the instance (one sync round of the device, not two); the
   * answer waits for both.
   */
  async finish(onStored: OnStored): Promise<StoreResult> {
    await this.#inflated();
    let instance: StoredInstance;
    try {
      instance = this.#describe();
    } catch (error) {
      this.#file.discard();
      return refusal(error);
    }
    let sealed: Promise<void>;
    if (this.#context.handOver) {
      instance.filePath = this.#file.tempPath;
      sealed = this.#file.seal();
      // Awaited below in every case; until then a rejection must not count as unhandled.
      sealed.catch(() => undefined);
    } else {
      try {
        await this.#file.commit(instance.filePath);
      } catch (error) {
        return writeFailure(error);
      }
      sealed = Promise.resolve();
    }
    const [written, recorded] = await Promise.allSettled([sealed, onStored(instance, sealed)]);
    if (written.status === 'fulfilled' && recorded.status === 'fulfilled')
      return { status: storeStatus.success, instance };
    // Not written or not recorded means not accepted: the sender will retry, so do not keep an orphan file (handed
    // over, it may or may not have been moved yet; the temp name is never reused, so removing it is safe either way).
    await removeQuietly(instance.filePath);
    if (written.status === 'rejected') return writeFailure(written.reason);
    const error: unknown = recorded.status === 'rejected' ? recorded.reason : undefined;
    return {
      status: storeStatus.outOfResources,
      comment: `cannot record the instance: ${error instanceof Error ? error.message : String(error)}`,
    };
  }

  /** The association ended before the data set did. */
  abandon(): void {
    this.#inflater?.destroy();
    this.#file.discard();
  }

  #describe(): StoredInstance {
    if (this.#invalid !== undefined) throw new StoreRefusal(storeStatus.cannotUnderstand, this.#invalid.message);
    try {
      this.#walker.end();
    } catch (error) {
      throw new StoreRefusal(storeStatus.cannotUnderstand, error instanceof Error ? error.message : String(error));
    }
    const values = this.#walker.values;
    const { command } = this.#context;
    const sopClassUid = required(values, 'sopClassUid', '(0008,0016) SOP Class UID');
    const sopInstanceUid = required(values, 'sopInstanceUid', '(0008,0018) SOP Instance UID');
    if (sopInstanceUid !== command.affectedSopInstanceUid || sopClassUid !== command.affectedSopClassUid) {
      throw new StoreRefusal(
        storeStatus.doesNotMatchSopClass,
        '(0008,0016)/(0008,0018) differ from the C-STORE command',
      );
    }
    if (!uidPattern.test(sopInstanceUid) || sopInstanceUid.length > 64) {
      throw new StoreRefusal(storeStatus.cannotUnderstand, '(0008,0018) SOP Instance UID is not a valid UID');
    }
    const instance: StoredInstance = {
      filePath: path.join(this.#context.storageDir, `${sopInstanceUid}.dcm`),
      associationId: this.#context.associationId,
      callingAe: this.#context.callingAe,
      calledAe: this.#context.calledAe,
      sopClassUid,
      sopInstanceUid,
      studyInstanceUid: required(values, 'studyInstanceUid', '(0020,000D) Study Instance UID'),
      seriesInstanceUid: required(values, 'seriesInstanceUid', '(0020,000E) Series Instance UID'),
      transferSyntaxUid: this.#context.transferSyntaxUid,
      sizeBytes: this.#file.bytes,
    };
    for (const key of optionalHeaderKeys) {
      const value = headerText(values, key);
      if (value !== undefined) instance[key] = value;
    }
    return instance;
  }
}

function required(values: ReadonlyMap<HeaderKey, Buffer>, key: HeaderKey, name: string): string {
  const value = headerText(values, key);
  if (value === undefined) throw new StoreRefusal(storeStatus.cannotUnderstand, `${name} is missing`);
  return value;
}

function refusal(error: unknown): StoreResult {
  if (error instanceof StoreRefusal) return { status: error.status, comment: error.message };
  return { status: storeStatus.cannotUnderstand, comment: error instanceof Error ? error.message : String(error) };
}

function writeFailure(error: unknown): StoreResult {
  return { status: storeStatus.outOfResources, comment: `cannot write the instance: ${errorCode(error)}` };
}

function errorCode(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

async function removeQuietly(filePath: string): Promise<void> {
  await unlink(filePath).catch(() => undefined);
}

/** The log line of an answered C-ECHO or C-STORE: patient data only at debug level. */
export function logStoreOutcome(log: Logger, command: Command, outcome: StoreResult): void {
  if (command.commandField === commandField.cEchoRq) return log.debug('C-ECHO answered');
  const fields = {
    sopInstanceUid: command.affectedSopInstanceUid,
    status: `0x${outcome.status.toString(16).padStart(4, '0')}`,
  };
  if (outcome.status !== 0) {
    // The comment may name values from the data set (an accession number, a patient id): debug only.
    log.warn('C-STORE failed', fields);
    return log.debug('C-STORE failed', fields, { reason: outcome.comment });
  }
  const instance = outcome.instance;
  log.debug(
    'C-STORE stored',
    { ...fields, bytes: instance?.sizeBytes },
    {
      patientId: instance?.patientId,
      patientName: instance?.patientName,
      accessionNumber: instance?.accessionNumber,
    },
  );
}
