// The DICOM listener: C-ECHO and C-STORE SCP on one AE title, host and port. An instance is answered with
// success only after its file is fsynced and renamed into storageDir AND onInstanceStored resolved (DESIGN.md:
// "DICOM success only after the instance is on disk and recorded").
//
// Why not dcmjs-dimse's Scp/Server: its 0.3.3 receive path concatenates every socket chunk onto the PDU being
// received (quadratic in PDU size), never pauses the socket (its drain wait is a one-shot promise, so after the
// first drain backpressure is gone: 214 MB RSS for 20 MB instances), builds log strings for every DIMSE even
// with logging off, and measured 0.37×/0.81× of dcmtk's storescp (LIBRARIES.md). The upper layer is small
// (pdu.ts, pdu-reader.ts, command.ts), so the hub owns it and streams PDV slices straight to disk.
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import type { Logger } from '../runtime/log.ts';
import { createLogger } from '../runtime/log.ts';
import type { StoredInstance } from './incoming-instance.ts';
import { ScpAssociation } from './scp-association.ts';
import { TempFiles } from './temp-files.ts';

export type { StoredInstance } from './incoming-instance.ts';

export interface ScpOptions {
  aeTitle: string;
  host: string;
  /** 0 picks a free port; read it from `port` after start(). */
  port: number;
  /** Instances land here as <SOP Instance UID>.dcm; temp files in its `.incoming` subfolder. */
  storageDir: string;
  isKnownCallingAe(ae: string): boolean | Promise<boolean>;
  onInstanceStored(instance: StoredInstance): Promise<void>;
  log?: Logger;
  /** Largest P-DATA-TF we accept (PS3.8 D.1); bigger PDUs mean fewer headers for the same data. */
  maxPduLength?: number;
  /**
   * fsync each file and the directory before answering success (default true). Off only for throwaway storage
   * (tests, benchmarks): like Orthanc's "SyncStorageArea", it trades crash safety for about 1-2 ms per instance.
   */
  syncStorage?: boolean;
  /**
   * Hand each instance over as its synced temp file instead of landing it in storageDir (default false).
   * onInstanceStored then owns the file at `instance.filePath` (in storageDir/.incoming): it moves it where it
   * belongs, durably, or removes it. The hub's ingest does, so an instance is renamed and its directory synced
   * once, in its study folder, not twice. What a crash leaves in .incoming is removed at the next start.
   */
  handOver?: boolean;
  /** Bytes queued for the disk per association before the socket is paused. */
  highWaterMark?: number;
  associationRequestTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** How long stop() waits for open associations before aborting them. */
  stopTimeoutMs?: number;
}

export class DicomScp {
  readonly #options: ScpOptions;
  readonly #log: Logger;
  readonly #associations = new Set<ScpAssociation>();
  #server: Server | undefined;
  #directory: FileHandle | undefined;
  #temps: TempFiles | undefined;
  #port = 0;

  constructor(options: ScpOptions) {
    if (!/^[\x20-\x7e]{1,16}$/.test(options.aeTitle) || options.aeTitle.trim() !== options.aeTitle) {
      throw new Error(`aeTitle: expected 1-16 printable characters without leading/trailing spaces (PS3.5 AE), got "${options.aeTitle}"`);
    }
    this.#options = options;
    this.#log = (options.log ?? createLogger()).child({ component: 'dicom-scp', aeTitle: options.aeTitle });
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    if (this.#server !== undefined) throw new Error('DicomScp already started');
    const incoming = path.join(this.#options.storageDir, '.incoming');
    // Temp files live beside the store (same file system, so rename is atomic) but out of its listing; what a
    // crash left there was never acknowledged and is removed.
    await rm(incoming, { recursive: true, force: true });
    await mkdir(incoming, { recursive: true });
    const directory = await open(this.#options.storageDir, 'r');
    this.#directory = directory;
    // Two spares cover the next instance of two associations; more only holds descriptors.
    const temps = new TempFiles(incoming, 2);
    this.#temps = temps;
    const server = createServer((socket) => this.#accept(socket, directory, temps));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, this.#options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : this.#options.port;
    this.#log.info('DICOM SCP listening', { host: this.#options.host, port: this.#port });
  }

  /** Stops accepting, lets open associations finish (up to stopTimeoutMs), then aborts what is left. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const open = [...this.#associations].map((association) => association.closed);
    const grace = this.#options.stopTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), grace);
    });
    const outcome = await Promise.race([Promise.all(open).then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#log.warn('aborting associations still open at stop', { count: this.#associations.size });
      for (const association of this.#associations) association.abort('hub stopping');
      await Promise.all([...this.#associations].map((association) => association.closed));
    }
    await closed;
    await this.#temps?.close();
    this.#temps = undefined;
    await this.#directory?.close();
    this.#directory = undefined;
    this.#log.info('DICOM SCP stopped');
  }

  #accept(socket: Socket, directory: FileHandle, temps: TempFiles): void {
    const options = this.#options;
    const association = new ScpAssociation(socket, {
      aeTitle: options.aeTitle,
      storageDir: options.storageDir,
      storageDirHandle: directory,
      temps,
      syncStorage: options.syncStorage ?? true,
      handOver: options.handOver ?? false,
      maxPduLength: options.maxPduLength ?? 256 * 1024,
      highWaterMark: options.highWaterMark ?? 1024 * 1024,
      associationRequestTimeoutMs: options.associationRequestTimeoutMs ?? 30_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
      isKnownCallingAe: (ae) => options.isKnownCallingAe(ae),
      onInstanceStored: (instance) => options.onInstanceStored(instance),
      log: this.#log,
    });
    this.#associations.add(association);
    void association.closed.then(() => this.#associations.delete(association));
  }
}
