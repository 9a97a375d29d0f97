// A folder other systems drop files into, read the crash-safe way. A file is taken only once its size and time
// have not changed for `stableMs` (the writer is done), by renaming it into `.processing/` under a name that carries
// a claim id; from then on it is ours alone, and it leaves `.processing/` only by a rename into done/ or error/
// (with a `.reason.txt`), each rename made durable by an fsync of the folder. A hub killed in between finds the file
// in `.processing/` at its next start and finishes it, told that it is a resumed claim so entries already stored
// are not stored twice. Nothing is deleted.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from '../runtime/sync-directory.ts';

export interface DropFolderOptions {
  directory: string;
  /** File names to take (a glob: `*` and `?`); dot files are never taken. */
  pattern: RegExp;
  stableMs: number;
  doneDir: string;
  errorDir: string;
}

export interface ClaimedFile {
  /** The name it was dropped under. */
  name: string;
  /** Unique per claim, kept across restarts: what entries stored from the file are recorded under. */
  claimId: string;
  path: string;
  /** A claim left by an earlier run: some entries may already be stored. */
  resumed: boolean;
}

interface Seen {
  size: number;
  mtimeMs: number;
  since: number;
}

const claimSeparator = '--';

/** A claim id: unique, sortable by time, free of the separator. */
export function newClaimId(): string {
  return `${Date.now().toString(36)}${randomUUID().slice(0, 8)}`;
}

export class DropFolder {
  readonly #options: DropFolderOptions;
  readonly #processing: string;
  readonly #seen = new Map<string, Seen>();

  constructor(options: DropFolderOptions) {
    this.#options = options;
    this.#processing = path.join(options.directory, '.processing');
  }

  async open(): Promise<void> {
    for (const dir of [this.#options.directory, this.#processing, this.#options.doneDir, this.#options.errorDir])
      await mkdir(dir, { recursive: true });
  }

  /** Claims left by a run that ended before finishing them. */
  async leftovers(): Promise<ClaimedFile[]> {
    const names = (await readdir(this.#processing))
      .filter((n) => n.includes(claimSeparator) && !n.startsWith('.'))
      .sort();
    return names.map((entry) => {
      const [claimId, ...rest] = entry.split(claimSeparator);
      return {
        name: rest.join(claimSeparator),
        claimId: claimId ?? '',
        path: path.join(this.#processing, entry),
        resumed: true,
      };
    });
  }

  /** Claims the files that have been stable long enough, oldest first. */
  async claimStable(now = Date.now()): Promise<ClaimedFile[]> {
    const entries = await readdir(this.#options.directory, { withFileTypes: true });
    const present = new Set<string>();
    const ready: Array<{ name: string; mtimeMs: number }> = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.startsWith('.') || !this.#options.pattern.test(entry.name)) continue;
      present.add(entry.name);
      const info = await stat(path.join(this.#options.directory, entry.name)).catch(() => undefined);
      if (info === undefined) continue;
      const seen = this.#seen.get(entry.name);
      if (seen === undefined || seen.size !== info.size || seen.mtimeMs !== info.mtimeMs) {
        this.#seen.set(entry.name, { size: info.size, mtimeMs: info.mtimeMs, since: now });
        if (this.#options.stableMs > 0) continue;
      } else if (now - seen.since < this.#options.stableMs) continue;
      ready.push({ name: entry.name, mtimeMs: info.mtimeMs });
    }
    for (const name of this.#seen.keys()) if (!present.has(name)) this.#seen.delete(name);
    ready.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
    const claimed: ClaimedFile[] = [];
    for (const { name } of ready) {
      const claimId = newClaimId();
      const target = path.join(this.#processing, `${claimId}${claimSeparator}${name}`);
      try {
        await rename(path.join(this.#options.directory, name), target);
      } catch {
        continue; // Gone meanwhile, or taken by another hub on the same folder.
      }
      this.#seen.delete(name);
      claimed.push({ name, claimId, path: target, resumed: false });
    }
    if (claimed.length > 0) await syncDirectory(this.#processing);
    return claimed;
  }

  /**
   * Takes in a file fetched from elsewhere (a remote folder) as a claim of this folder: `write` fills a dot-named
   * temp file, which is synced and renamed into `.processing/`, so a claim here is always whole. A claim that is
   * already here (a fetch repeated after a restart) is left as it is.
   */
  async adopt(name: string, claimId: string, write: (temp: string) => Promise<void>): Promise<ClaimedFile> {
    const target = path.join(this.#processing, `${claimId}${claimSeparator}${name}`);
    const claimed = { name, claimId, path: target, resumed: false };
    if (await exists(target)) return claimed;
    const temp = path.join(this.#processing, `.incoming-${claimId}`);
    await write(temp);
    const handle = await open(temp, 'r+');
    await handle.sync().finally(() => handle.close());
    await rename(temp, target);
    await syncDirectory(this.#processing);
    return claimed;
  }

  /** Whether a claim is in `.processing/` (not yet finished). */
  async holds(name: string, claimId: string): Promise<boolean> {
    return exists(path.join(this.#processing, `${claimId}${claimSeparator}${name}`));
  }

  async done(file: ClaimedFile): Promise<string> {
    return this.#finish(file, this.#options.doneDir);
  }

  async failed(file: ClaimedFile, reason: string): Promise<string> {
    const target = await this.#finish(file, this.#options.errorDir, reason);
    return target;
  }

  async #finish(file: ClaimedFile, dir: string, reason?: string): Promise<string> {
    const target = await freeName(dir, file.name);
    if (reason !== undefined) await writeFile(`${target}.reason.txt`, `${reason}\n`, { flush: true });
    await rename(file.path, target);
    await syncDirectory(dir);
    return target;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** `name`, or `name.1`, `name.2`… when done/ already holds a file of that name (a resent file is kept too). */
async function freeName(dir: string, name: string): Promise<string> {
  for (let i = 0; ; i++) {
    const candidate = path.join(dir, i === 0 ? name : `${name}.${i}`);
    const taken = await stat(candidate).then(
      () => true,
      () => false,
    );
    if (!taken) return candidate;
  }
}

/** `*.hl7` → /^[^/]*\.hl7$/ */
export function globPattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
