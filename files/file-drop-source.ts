// The 'file-drop' source (Mirth's File Reader): polls a folder for HL7 v2 files, single messages or batch files
// (files/hl7-batch.ts), and hands each message to the channel, which stores it before anything else; then the file
// moves to done/, or to error/ with a `.reason.txt` naming each message that could not be split, stored or was
// refused. Claiming and moving is files/drop-folder.ts. After a kill, the claimed file is finished at the next
// start, and the entries the message store already holds for that claim (`source.claim`, `source.entry`) are
// skipped: each message is stored once, none is lost.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
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
}

export interface FileDropDeps {
  /** The `source.entry` values the message store holds for a channel's claim of a file (see the header). */
  storedEntries?(channelId: string, claimId: string): Promise<Set<string>>;
}

function parseSettings(input: unknown, at: string): FileDropSettings {
  const value = expectObject(input, at);
  expectKeys(value, at, ['directory', 'pattern', 'pollMs', 'stableMs', 'doneDir', 'errorDir', 'encoding']);
  const directory = expectString(value['directory'], join(at, 'directory'));
  if (directory.trim() === '') throw new ValidationError(join(at, 'directory'), 'expected a folder');
  const pattern = optionalString(value['pattern'], join(at, 'pattern')) ?? '*';
  if (pattern.includes('/')) throw new ValidationError(join(at, 'pattern'), 'expected a file name glob, not a path');
  return {
    directory,
    pattern,
    pollMs: expectInteger(value['pollMs'] ?? 1000, join(at, 'pollMs'), 50, 3_600_000),
    stableMs: expectInteger(value['stableMs'] ?? 1000, join(at, 'stableMs'), 0, 3_600_000),
    doneDir: optionalString(value['doneDir'], join(at, 'doneDir')) ?? path.join(directory, 'done'),
    errorDir: optionalString(value['errorDir'], join(at, 'errorDir')) ?? path.join(directory, 'error'),
    encoding: expectOneOf(value['encoding'] ?? 'utf8', join(at, 'encoding'), ['utf8', 'latin1'] as const),
  };
}

class FileDropSource implements SourceConnector {
  readonly #settings: FileDropSettings;
  readonly #context: SourceContext;
  readonly #deps: FileDropDeps;
  readonly #folder: DropFolder;
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
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#poll().finally(() => this.#schedule(this.#settings.pollMs));
    }, ms);
  }

  async #poll(): Promise<void> {
    try {
      const files = [...this.#pending.splice(0), ...(await this.#folder.claimStable())];
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
