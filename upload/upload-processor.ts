// What happens to a finished upload (an SFTP or FTPS file closed by the client, or a dropped file): a DICOM Part-10
// file, or a ZIP of them, goes through the same ingest as a C-STORE or STOW-RS instance, with the account's
// facility standing for the calling AE; anything else is refused. The client's close is answered only after this,
// so its success means every instance is on disk and recorded. A refused file is kept in the error folder beside
// a `.reason.txt`, and every upload leaves a record in the upload log.
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Facility } from '../exams/facility.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import { syncDirectory } from '../runtime/sync-directory.ts';
import type { UploadRecord } from './upload-log.ts';
import { extractEntry, looksLikeZip, readZipDirectory, ZipError, type ZipLimits } from './zip-archive.ts';

export interface FinishedUpload {
  /** The closed file on disk; the processor moves it away. */
  filePath: string;
  /** As the client named it. */
  fileName: string;
  user: string;
  facility: string;
  protocol: string;
  remote: string;
  /**
   * The caller keeps the original of a refused file itself (a file drop moves it to its own error/ folder with the
   * reason), so the processor only removes what it was handed. Default: the processor keeps it in its error folder.
   */
  callerKeepsRefused?: boolean;
  /**
   * Settles once the file's data is on disk (the SFTP session syncs while the file is checked). Nothing is stored,
   * moved or kept before it; a rejection fails the upload. Default: already synced.
   */
  synced?: Promise<void>;
}

export interface UploadResult {
  ok: boolean;
  /** What the client is told. */
  message: string;
  record: UploadRecord;
}

/** What became of one Part-10 file handed to the DICOM ingest. */
export type InstanceOutcome = { status: 'stored'; studyInstanceUid: string } | { status: 'refused'; reason: string };

/**
 * The DICOM ingest as the upload sees it (composition/ wires dicom/ in: protocol folders do not import each other):
 * check the Part-10 file and store it for the facility, `source` and `via` kept on the instance and the exam.
 */
export type StoreInstance = (
  file: string,
  what: string,
  facility: Facility,
  origin: { source: string; via: string },
  /** Awaited before the file is moved or recorded (see FinishedUpload.synced). */
  synced?: Promise<void>,
) => Promise<InstanceOutcome>;

export interface ProcessorOptions {
  storeInstance: StoreInstance;
  facility(code: string): Promise<Facility | undefined>;
  record(entry: UploadRecord): Promise<void>;
  /** Scratch space on the study store's file system (the ingest moves files from here by rename). */
  workDir: string;
  /** Refused files go to <errorDir>/<user>/. */
  errorDir: string;
  zip: ZipLimits;
  log: Logger;
}

interface Tally {
  stored: number;
  refusals: string[];
  studies: Set<string>;
}

/** ZIP entries that are not images: a Finder's resource forks, folder indexes, the media's DICOMDIR. */
const ignoredEntry = /(^|\/)(__MACOSX\/|\.DS_Store$|Thumbs\.db$|DICOMDIR$)/i;

export class UploadProcessor {
  readonly #options: ProcessorOptions;

  constructor(options: ProcessorOptions) {
    this.#options = options;
  }

  /**
   * A Part-10 file is ingested where it is: the ingest moves it into the study store by rename (the upload folder
   * is on the same file system by default). A ZIP is unpacked into a work folder of its own.
   */
  async process(upload: FinishedUpload): Promise<UploadResult> {
    const file = upload.filePath;
    const synced = upload.synced ?? Promise.resolve();
    const [{ head, size }, facility] = await Promise.all([readHead(file), this.#options.facility(upload.facility)]);
    const kind = isPart10(head) ? 'dicom' : looksLikeZip(head) ? 'zip' : 'other';
    const tally: Tally = { stored: 0, refusals: [], studies: new Set() };
    if (kind === 'dicom' && facility?.active) await this.#instance(file, upload.fileName, facility, upload, tally);
    // Only a single instance is checked during the sync; anything else waits for it first.
    await synced;
    if (!facility?.active) tally.refusals.push(`facility ${upload.facility} is not an active facility`);
    else if (kind === 'zip') await this.#inWorkFolder((work) => this.#zip(file, work, facility, upload, tally));
    else if (kind === 'other')
      tally.refusals.push(`${upload.fileName}: not a DICOM Part-10 file (no "DICM" at byte 128) nor a ZIP of them`);
    return this.#finish(upload, file, kind, size, tally);
  }

  async #inWorkFolder(work: (dir: string) => Promise<void>): Promise<void> {
    const dir = path.join(this.#options.workDir, randomUUID());
    await mkdir(dir, { recursive: true });
    try {
      await work(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #finish(
    upload: FinishedUpload,
    file: string,
    kind: UploadRecord['kind'],
    size: number,
    tally: Tally,
  ): Promise<UploadResult> {
    const record: UploadRecord = {
      _id: randomUUID(),
      at: new Date(),
      user: upload.user,
      facility: upload.facility,
      protocol: upload.protocol,
      remote: upload.remote,
      fileName: upload.fileName,
      sizeBytes: size,
      kind,
      outcome: tally.refusals.length === 0 ? 'stored' : tally.stored > 0 ? 'partly-stored' : 'refused',
      stored: tally.stored,
      refused: tally.refusals.length,
      studyInstanceUids: [...tally.studies],
    };
    if (tally.refusals.length > 0) {
      record.reason = reasonText(tally);
      if (upload.callerKeepsRefused) await unlink(file).catch(() => undefined);
      else record.errorFile = await this.#keepRefused(file, upload, record.reason);
    }
    await this.#options.record(record);
    this.#options.log.info('upload processed', {
      user: upload.user,
      facility: upload.facility,
      protocol: upload.protocol,
      kind,
      outcome: record.outcome,
      stored: record.stored,
      refused: record.refused,
    });
    this.#options.log.debug(
      'upload processed',
      { id: record._id },
      { fileName: upload.fileName, reason: record.reason },
    );
    // A stored ZIP (its instances were unpacked) is not kept.
    if (tally.refusals.length === 0 && kind === 'zip') await unlink(file).catch(() => undefined);
    const ok = tally.refusals.length === 0;
    return { ok, message: ok ? `stored ${tally.stored} instance(s)` : (record.reason ?? 'refused'), record };
  }

  async #instance(file: string, what: string, facility: Facility, upload: FinishedUpload, tally: Tally): Promise<void> {
    let outcome: InstanceOutcome;
    try {
      outcome = await this.#options.storeInstance(
        file,
        what,
        facility,
        { source: `upload:${upload.user}`, via: upload.protocol },
        upload.synced,
      );
    } catch (error) {
      outcome = { status: 'refused', reason: `${what}: cannot record the instance: ${errorText(error)}` };
    }
    if (outcome.status === 'refused') {
      tally.refusals.push(outcome.reason);
      return;
    }
    tally.stored += 1;
    tally.studies.add(outcome.studyInstanceUid);
  }

  async #zip(file: string, work: string, facility: Facility, upload: FinishedUpload, tally: Tally): Promise<void> {
    let entries: Awaited<ReturnType<typeof readZipDirectory>>;
    try {
      entries = await readZipDirectory(file, this.#options.zip);
    } catch (error) {
      if (!(error instanceof ZipError)) throw error;
      tally.refusals.push(`${upload.fileName}: refused whole: ${error.message}`);
      return;
    }
    for (const [i, entry] of entries.entries()) {
      if (entry.isDirectory || ignoredEntry.test(entry.name)) continue;
      const target = path.join(work, `${i}.dcm`);
      const what = `${upload.fileName}:${entry.name}`;
      try {
        await extractEntry(file, entry, target);
      } catch (error) {
        tally.refusals.push(`${what}: ${errorText(error)}`);
        continue;
      }
      const { head } = await readHead(target);
      if (!isPart10(head)) {
        tally.refusals.push(`${what}: not a DICOM Part-10 file`);
        await unlink(target).catch(() => undefined);
        continue;
      }
      await this.#instance(target, what, facility, upload, tally);
      await unlink(target).catch(() => undefined);
    }
    if (tally.stored === 0 && tally.refusals.length === 0) tally.refusals.push(`${upload.fileName}: the ZIP is empty`);
  }

  /** Moves the refused file into the error folder with its reason beside it, both durable. */
  async #keepRefused(file: string, upload: FinishedUpload, reason: string): Promise<string> {
    const dir = path.join(this.#options.errorDir, upload.user);
    await mkdir(dir, { recursive: true });
    const base = path.basename(upload.fileName).replace(/[^A-Za-z0-9._-]/g, '_') || 'upload';
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}-${base}`;
    const kept = path.join(dir, name);
    await writeFile(`${kept}.reason.txt`, `${reason}\n`, { flush: true });
    // A DICOM file the ingest moved into the study store before recording failed is no longer here.
    await moveFile(file, kept).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await syncDirectory(dir);
    return kept;
  }
}

function reasonText(tally: Tally): string {
  const shown = tally.refusals.slice(0, 5).join('; ');
  const more = tally.refusals.length > 5 ? `; and ${tally.refusals.length - 5} more` : '';
  const stored = tally.stored > 0 ? `${tally.stored} instance(s) stored, ` : '';
  return `${stored}${tally.refusals.length} refused: ${shown}${more}`;
}

/** PS3.10 7.1: a 128-byte preamble, then "DICM". */
function isPart10(head: Buffer): boolean {
  return head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM';
}

async function readHead(file: string): Promise<{ head: Buffer; size: number }> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = Buffer.alloc(Math.min(132, size));
    await handle.read(head, 0, head.length, 0);
    return { head, size };
  } finally {
    await handle.close();
  }
}

/** A rename, or a copy when the upload folder is on another file system than the study store. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    const handle = await open(to, 'r+');
    await handle.sync().finally(() => handle.close());
    await unlink(from);
  }
}
