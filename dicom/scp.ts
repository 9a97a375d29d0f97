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
import type { Socket } from 'node:net';
import path from 'node:path';
import { listenerLimitHits } from '../http/metrics.ts';
import { Listener, type ConnectionGuard, type TlsSettings } from '../runtime/listener.ts';
import type { Logger } from '../runtime/log.ts';
import { createLogger } from '../runtime/log.ts';
import type { AssociationObserver, ObservedAssociation } from './association-observer.ts';
import type { OnStored } from './incoming-instance.ts';
import type { FindService } from './scp-find.ts';
import type { GetService } from './scp-get.ts';
import type { MoveService } from './scp-move.ts';
import { ScpAssociation } from './scp-association.ts';
import { TempFiles } from './temp-files.ts';

export type { OnStored, StoredInstance } from './incoming-instance.ts';

export interface ScpOptions {
  aeTitle: string;
  host: string;
  /** 0 picks a free port; read it from `port` after start(). */
  port: number;
  /** Instances land here as <SOP Instance UID>.dcm; temp files in its `.incoming` subfolder. */
  storageDir: string;
  isKnownCallingAe(ae: string): boolean | Promise<boolean>;
  /** See OnStored: `sealed` settles once the file's data are on disk (with handOver, possibly after the call). */
  onInstanceStored: OnStored;
  /** Query services by SOP class (dicom/scp-find.ts findSopClasses); a class not named here is not negotiated. */
  findServices?: ReadonlyMap<string, FindService>;
  /** C-MOVE services by SOP class (dicom/scp-move.ts). */
  moveServices?: ReadonlyMap<string, MoveService>;
  /** C-GET services by SOP class (dicom/scp-get.ts). */
  getServices?: ReadonlyMap<string, GetService>;
  log?: Logger;
  /** Largest P-DATA-TF we accept (PS3.8 D.1); bigger PDUs mean fewer headers for the same data. */
  maxPduLength?: number;
  /**
   * fsync each file and the directory before answering success (default true). Off only for throwaway storage
   * (tests, benchmarks): like Orthanc's "SyncStorageArea", it trades crash safety for about 1-2 ms per instance.
   */
  syncStorage?: boolean;
  /**
   * Hand each instance over as its temp file instead of landing it in storageDir (default false).
   * onInstanceStored then owns the file at `instance.filePath` (in storageDir/.incoming), whose fdatasync is
   * still running (its `sealed`): it moves it where it belongs, durably, or removes it. The hub's ingest does, so an instance is renamed and its directory synced
   * once, in its study folder, not twice. What a crash leaves in .incoming is removed at the next start.
   */
  handOver?: boolean;
  /** Bytes queued for the disk per association before the socket is paused. */
  highWaterMark?: number;
  /** ARTIM (PS3.8 9.1.5): how long a new connection may take to send its A-ASSOCIATE-RQ. */
  associationRequestTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Associations at once; the next is rejected-transient, local limit exceeded (PS3.8 9.3.4). */
  maxAssociations?: number;
  /** TCP connections at once (above maxAssociations, so a busy SCP still answers with a proper rejection). */
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  tls?: TlsSettings;
  /** How long stop() waits for open associations before aborting them. */
  stopTimeoutMs?: number;
  /** Told of each accepted association, its stored instances and its end (the console's listener panel). */
  observer?: AssociationObserver;
}

export class DicomScp {
  readonly #options: ScpOptions;
  readonly #log: Logger;
  readonly #associations = new Map<Socket, ScpAssociation>();
  #listener: Listener | undefined;
  #admitted = 0;
  #directory: FileHandle | undefined;
  #temps: TempFiles | undefined;
  #port = 0;

  constructor(options: ScpOptions) {
    if (!/^[\x20-\x7e]{1,16}$/.test(options.aeTitle) || options.aeTitle.trim() !== options.aeTitle) {
      throw new Error(
        `aeTitle: expected 1-16 printable characters without leading/trailing spaces (PS3.5 AE), got "${options.aeTitle}"`,
      );
    }
    this.#options = options;
    this.#log = (options.log ?? createLogger()).child({ component: 'dicom-scp', aeTitle: options.aeTitle });
  }

  get port(): number {
    return this.#port;
  }

  /** Associations accepted and not yet closed. */
  get associations(): number {
    return this.#admitted;
  }

  async start(): Promise<void> {
    if (this.#listener !== undefined) throw new Error('DicomScp already started');
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
    const options = this.#options;
    const listener = new Listener({
      kind: 'dicom',
      host: options.host,
      port: options.port,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      limits: {
        maxConnections: options.maxConnections ?? 200,
        maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 100,
        idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
      },
      log: this.#log,
      counter: listenerLimitHits,
      onConnection: (socket, guard) => this.#accept(socket, guard, directory, temps),
      onIdle: (socket) => this.#associations.get(socket)?.idle() ?? false,
    });
    await listener.start();
    this.#listener = listener;
    this.#port = listener.port;
    this.#log.info('DICOM SCP listening', { host: options.host, port: this.#port, tls: options.tls !== undefined });
  }

  /** Stops accepting, lets open associations finish (up to stopTimeoutMs), then aborts what is left. */
  async stop(): Promise<void> {
    const listener = this.#listener;
    if (listener === undefined) return;
    this.#listener = undefined;
    const closed = listener.stop();
    const open = [...this.#associations.values()].map((association) => association.closed);
    const grace = this.#options.stopTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), grace);
    });
    const outcome = await Promise.race([Promise.all(open).then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#log.warn('aborting associations still open at stop', { count: this.#associations.size });
      for (const association of this.#associations.values()) association.abort('hub stopping');
      await Promise.all([...this.#associations.values()].map((association) => association.closed));
    }
    await closed;
    await this.#temps?.close();
    this.#temps = undefined;
    await this.#directory?.close();
    this.#directory = undefined;
    this.#log.info('DICOM SCP stopped');
  }

  #accept(socket: Socket, guard: ConnectionGuard, directory: FileHandle, temps: TempFiles): void {
    const options = this.#options;
    const maxAssociations = options.maxAssociations ?? 50;
    let observed: ObservedAssociation | undefined;
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
      onInstanceStored: async (instance, sealed) => {
        await Promise.all([options.onInstanceStored(instance, sealed), sealed]);
        observed?.stored(instance);
      },
      findServices: options.findServices ?? new Map(),
      moveServices: options.moveServices ?? new Map(),
      getServices: options.getServices ?? new Map(),
      admit: (callingAe) => {
        if (this.#admitted >= maxAssociations) return false;
        this.#admitted++;
        observed = options.observer?.opened(callingAe);
        return true;
      },
      leave: () => {
        this.#admitted--;
        observed?.closed();
      },
      guard,
      log: this.#log,
    });
    this.#associations.set(socket, association);
    void association.closed.then(() => this.#associations.delete(socket));
  }
}
