// The 'file-drop' source (Mirth's File Reader): polls a folder for HL7 v2 files, single messages or batch files
// (files/hl7-batch.ts), and hands each message to the channel, which stores it before anything else; then the file
// moves to done/, or to error/ with a `.reason.txt` naming each message that could not be split, stored or was
// refused. Claiming and moving is files/drop-folder.ts. After a kill, the claimed file is finished at the next
// start, and the entries the message store already holds for that claim (`source.claim`, `source.entry`) are
// skipped: each message is stored once, none is lost.
// A DICOM Part-10 file (or a ZIP of them) is a folder import as in dcm4chee: it goes through the DICOM ingest for
// the facility the settings name (`storeImages`, wired by composition/), and moves to done/ only once its instances
// are on disk and recorded. Ingest is idempotent per SOP Instance UID, so a resumed claim is simply ingested again.
// With `sftp` settings the files come from a remote folder (files/sftp-fetch.ts) and are then read the same way.
import { readFile } from 'node:fs/promises';
import path, { posix } from 'node:path';
import type { SourceConnector, SourceConnectorType, SourceContext } from '../channels/connector.ts';
import { errorText } from '../runtime/log.ts';
import {
  ValidationError,
  expectInteger,
  expectKeys,
  expectObject,
  expectOneOf,
  expectString,
  join,
  optionalString,
} from '../runtime/validate.ts';
import { type ClaimedFile, DropFolder, globPattern } from './drop-folder.ts';
import { droppedKind } from './file-kind.ts';
import { SftpFetch } from './sftp-fetch.ts';
import { parseSftpRemote, sftpRemoteKeys, type SftpRemoteSettings } from './sftp-remote.ts';
import { splitHl7File } from './hl7-batch.ts';

export interface FileDropSettings {
  directory: string;
  /** A glob on the file name; default `*`. */
  pattern: string;
  pollMs: number;
  /** Unchanged size and time for this long means the writer is done. */
  stableMs: number;
  doneDir: string;
  errorDir: string;
  encoding: 'utf8' | 'latin1';
  /** The facility DICOM files of this folder come from (matching and routing as for its AE titles). */
  facility?: string;
  /** A remote folder to fetch from (files/sftp-fetch.ts); `directory` is then the local working folder. */
  sftp?: SftpRemoteSettings & { doneDir: string };
}

/** A claimed DICOM or ZIP file for the DICOM ingest. */
export interface DroppedImages {
  path: string;
  name: string;
  facility: string;
  channelId: string;
  /** Where it was read: the folder. */
  from: string;
}

/** `ok` once every instance is on disk and recorded; otherwise `message` says what was refused. */
export type ImagesOutcome = { ok: boolean; message: string };

export interface FileDropDeps {
  /** The `source.entry` values the message store holds for a channel's claim of a file (see the header). */
  storedEntries?(channelId: string, claimId: string): Promise<Set<string>>;
  /** The DICOM ingest; leaves the file where it is. Without it, DICOM files are refused. Throws when it could not
   * run at all (the file stays claimed and is tried again). */
  storeImages?(file: DroppedImages): Promise<ImagesOutcome>;
}

function parseSettings(input: unknown, at: string): FileDropSettings {
  const value = expectObject(input, at);
  expectKeys(value, at, [
    'directory',
    'pattern',
    'pollMs',
    'stableMs',
    'doneDir',
    'errorDir',
    'encoding',
    'facility',
    'sftp',
  ]);
  const directory = expectString(value['directory'], join(at, 'directory'));
  if (directory.trim() === '') throw new ValidationError(join(at, 'directory'), 'expected a folder');
  const pattern = optionalString(value['pattern'], join(at, 'pattern')) ?? '*';
  if (pattern.includes('/')) throw new ValidationError(join(at, 'pattern'), 'expected a file name glob, not a path');
  const facility = optionalString(value['facility'], join(at, 'facility'));
  const sftp = value['sftp'] === undefined ? undefined : parseRemote(value['sftp'], join(at, 'sftp'));
  return {
    ...(facility === undefined ? {} : { facility }),
    ...(sftp === undefined ? {} : { sftp }),
    directory,
    pattern,
    pollMs: expectInteger(value['pollMs'] ?? 1000, join(at, 'pollMs'), 50, 3_600_000),
    stableMs: expectInteger(value['stableMs'] ?? 1000, join(at, 'stableMs'), 0, 3_600_000),
    doneDir: optionalString(value['doneDir'], join(at, 'doneDir')) ?? path.join(directory, 'done'),
    errorDir: optionalString(value['errorDir'], join(at, 'errorDir')) ?? path.join(directory, 'error'),
    encoding: expectOneOf(value['encoding'] ?? 'utf8', join(at, 'encoding'), ['utf8', 'latin1'] as const),
  };
}

function parseRemote(input: unknown, at: string): SftpRemoteSettings & { doneDir: string } {
  const value = expectObject(input, at);
  expectKeys(value, at, [...sftpRemoteKeys, 'doneDir']);
  const { doneDir, ...rest } = value;
  const remote = parseSftpRemote(rest, at);
  return { ...remote, doneDir: optionalString(doneDir, join(at, 'doneDir')) ?? posix.join(remote.directory, 'done') };
}

class FileDropSource implements SourceConnector {
  readonly #settings: FileDropSettings;
  readonly #context: SourceContext;
  readonly #deps: FileDropDeps;
  readonly #folder: DropFolder;
  readonly #fetch: SftpFetch | undefined;
  /** Claimed files whose processing stopped on a store failure: retried each poll. */
  readonly #pending: ClaimedFile[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(settings: FileDropSettings, context: SourceContext, deps: FileDropDeps) {
    this.#settings = settings;
    this.#context = context;
    this.#deps = deps;
    this.#folder = new DropFolder({ ...settings, pattern: globPattern(settings.pattern) });
    const { sftp } = settings;
    this.#fetch =
      sftp === undefined
        ? undefined
        : new SftpFetch(
            {
              remote: sftp,
              pattern: globPattern(settings.pattern),
              stableMs: settings.stableMs,
              doneDir: sftp.doneDir,
            },
            this.#folder,
          );
  }

  async start(): Promise<void> {
    await this.#folder.open();
    this.#stopped = false;
    this.#pending.push(...(await this.#folder.leftovers()));
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    this.#fetch?.close();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#poll().finally(() => this.#schedule(this.#settings.pollMs));
    }, ms);
  }

  async #poll(): Promise<void> {
    try {
      // Fetched before the pending claims are taken out: a failed fetch leaves them pending. A remote claim the
      // local folder already held (a fetch repeated after a restart) is pending already.
      const fresh = this.#fetch === undefined ? await this.#folder.claimStable() : await this.#fetch.fetch();
      const pending = new Set(this.#pending.map((file) => file.claimId));
      const files = [...this.#pending.splice(0), ...fresh.filter((file) => !pending.has(file.claimId))];
      for (const [i, file] of files.entries()) {
        if (this.#stopped) {
          // Left in .processing/, finished at the next start.
          return;
        }
        let ok: boolean;
        try {
          ok = await this.#process(file);
        } catch (error) {
          this.#context.log.error('dropped file not finished; retried at the next poll', { error: errorText(error) });
          ok = false;
        }
        if (!ok) {
          this.#pending.push({ ...file, resumed: true }, ...files.slice(i + 1));
          return;
        }
      }
    } catch (error) {
      this.#context.log.error('file drop poll failed', { error: errorText(error) });
    }
  }

  /** False when the store failed and the file stays claimed for the next poll. */
  async #process(file: ClaimedFile): Promise<boolean> {
    const kind = await droppedKind(file.path);
    if (kind !== 'hl7v2') return this.#images(file);
    return this.#messages(file);
  }

  async #images(file: ClaimedFile): Promise<boolean> {
    const { log } = this.#context;
    const { facility } = this.#settings;
    const store = this.#deps.storeImages;
    let outcome: ImagesOutcome;
    if (facility === undefined) {
      outcome = { ok: false, message: 'a DICOM file, and the source names no facility (source.settings.facility)' };
    } else if (store === undefined) {
      outcome = { ok: false, message: 'a DICOM file, and this hub has no DICOM ingest' };
    } else {
      const { sftp, directory } = this.#settings;
      const from = sftp === undefined ? directory : `sftp://${sftp.user}@${sftp.host}:${sftp.port}/${sftp.directory}`;
      outcome = await store({ path: file.path, name: file.name, facility, channelId: this.#context.channelId, from });
    }
    if (outcome.ok) await this.#folder.done(file);
    else await this.#folder.failed(file, outcome.message);
    log.info('dropped DICOM file read', { claim: file.claimId, ok: outcome.ok });
    log.debug('dropped DICOM file read', { claim: file.claimId }, { file: file.name, message: outcome.message });
    return true;
  }

  async #messages(file: ClaimedFile): Promise<boolean> {
    const { log } = this.#context;
    const split = splitHl7File((await readFile(file.path)).toString(this.#settings.encoding));
    if ('error' in split) {
      await this.#folder.failed(file, split.error);
      log.warn('dropped file refused', { claim: file.claimId, reason: split.error });
      return true;
    }
    const stored = file.resumed
      ? ((await this.#deps.storedEntries?.(this.#context.channelId, file.claimId)) ?? new Set())
      : new Set<string>();
    const problems: string[] = [];
    const count = split.messages.length;
    for (const [i, raw] of split.messages.entries()) {
      const entry = String(i + 1);
      if (stored.has(entry)) continue;
      if (this.#stopped) return true;
      const source = { file: file.name, claim: file.claimId, entry, entries: String(count) };
      let outcome: Awaited<ReturnType<SourceContext['receive']>>;
      try {
        outcome = await this.#context.receive({ raw, dataType: 'hl7v2', source });
      } catch (error) {
        log.error('dropped file: message not stored; retried at the next poll', {
          claim: file.claimId,
          entry,
          error: errorText(error),
        });
        return false;
      }
      if (outcome.status === 'refused') problems.push(`message ${entry}: refused: ${outcome.refusal.error}`);
      else if (outcome.status === 'error') problems.push(`message ${entry}: ${outcome.error}`);
    }
    if (problems.length === 0) await this.#folder.done(file);
    else await this.#folder.failed(file, problems.join('\n'));
    log.info('dropped file read', { claim: file.claimId, messages: count, problems: problems.length });
    log.debug('dropped file read', { claim: file.claimId }, { file: file.name });
    return true;
  }
}

export function fileDropSourceType(deps: FileDropDeps = {}): SourceConnectorType<FileDropSettings> {
  return {
    type: 'file-drop',
    // The claim folder is finished at start by whoever polls: two pollers would finish each other's claims.
    oneProcessAtATime: true,
    parseSettings,
    create: (settings, context) => new FileDropSource(settings, context, deps),
  };
}
