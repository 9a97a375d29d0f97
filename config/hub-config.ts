// The typed form of config/hub.yaml.
import type { LogLevel } from '../runtime/log.ts';
import type { Role } from '../http/auth.ts';
import type { HttpLimits } from '../http/server.ts';
import type { TlsSettings } from '../runtime/listener.ts';
import type { ConsoleAuthConfig } from './console-auth.ts';
import type { ReadingConfig } from './report-config.ts';
import type { UploadConfig } from './upload-config.ts';

export interface TokenConfig {
  name: string;
  sha256: string;
  roles: Role[];
  facilities?: string[];
}

export interface HubConfig {
  /** The file the settings came from, for error messages. */
  file: string;
  /** Absolute. */
  dataDir: string;
  logLevel: LogLevel;
  /**
   * Processes of this installation on this machine (issue 18): 1 runs the hub in this process; more starts a
   * supervisor that forks that many hub processes sharing every listener (SO_REUSEPORT) and the store.
   * `takeoverSeconds`: how long the leases of a process that vanished stand (queues, event publisher, exam-event
   * and drop-folder sources) before another process takes them; a dead pid of this installation is displaced at once.
   * `threadIdleSeconds`: how long a worker thread (FHIR validation, MLLP sending, map scripts, report PDFs) stays
   * without work before it ends and its memory is given back (0: it stays); runtime/idle-thread.ts.
   */
  hub: { workers: number; takeoverSeconds: number; threadIdleSeconds: number };
  store: { mongodbUrl: string | null };
  http: { host: string; port: number; tls?: TlsSettings; limits: HttpLimits };
  auth: { tokens: TokenConfig[] } & ConsoleAuthConfig;
  scheduler: { processEveryMs: number };
  /** Absolute. */
  channels: { dir: string };
  /** Absolute. */
  facilities: { dir: string };
  dicom: DicomConfig;
  /**
   * Report files (issue 12): the largest upload kept with a report (a scanned PDF, TIFF or JPEG); the threads that
   * render report PDFs, and how many renders may wait for one before a signing request is answered 503.
   */
  reports: { maxAttachmentBytes: number; pdfThreads: number; pdfMaxQueued: number } & ReadingConfig;
  upload: UploadConfig;
}

export interface DicomConfig {
  enabled: boolean;
  aeTitle: string;
  host: string;
  port: number;
  /** Absolute; default <dataDir>/dicom. */
  storageDir: string;
  /** A study counts as complete this long after its last instance arrived. */
  studyQuietSeconds: number;
  /** What a second copy of a stored SOP Instance UID does: replace the file, or keep the first. */
  duplicateInstances: 'replace' | 'ignore';
  /**
   * MiB of memory for the bytes of recently retrieved small instances (up to 1 MiB each), so a study opened
   * again over WADO-RS is answered without reading its files; 0 turns it off.
   */
  retrieveCacheMiB: number;
  tls?: TlsSettings;
  limits: DicomLimits;
}

export interface DicomLimits {
  /** Associations at once; the next gets A-ASSOCIATE-RJ transient, local limit exceeded (PS3.8 9.3.4). */
  maxAssociations: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** ARTIM (PS3.8 9.1.5): a new connection must send its A-ASSOCIATE-RQ within this. */
  associationRequestTimeoutMs: number;
  /** No PDU either way for this long aborts the association (unless a store is being recorded). */
  idleTimeoutMs: number;
  /** Largest P-DATA-TF PDU we accept (PS3.8 D.1): the bytes one association buffers before disk. */
  maxPduLength: number;
}

/** Safe defaults: a modality opens one or a few associations; a site's burst stays well under 50. */
export const defaultDicomLimits: DicomLimits = {
  maxAssociations: 50,
  maxConnections: 200,
  maxConnectionsPerAddress: 100,
  associationRequestTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  maxPduLength: 256 * 1024,
};
