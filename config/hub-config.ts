// The typed form of config/hub.yaml.
import type { LogLevel } from '../runtime/log.ts';
import type { Role } from '../http/auth.ts';

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
  store: { mongodbUrl: string | null };
  http: { host: string; port: number };
  auth: { tokens: TokenConfig[] };
  scheduler: { processEveryMs: number };
  /** Absolute. */
  channels: { dir: string };
  /** Absolute. */
  facilities: { dir: string };
  dicom: DicomConfig;
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
}
