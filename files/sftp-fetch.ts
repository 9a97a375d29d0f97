// Fetches files from a folder on an SFTP server into a local drop folder, for a file-drop source whose files live
// elsewhere (Mirth's SFTP File Reader). A remote file is taken once its size and time held still for `stableMs`,
// by renaming it into the remote `.processing/` under a claim id (another reader's rename then fails: one taker);
// it is downloaded, synced and renamed into the local `.processing/` (files/drop-folder.ts adopt), and only then
// moved to the remote done folder. Processing continues locally, with done/ and error/ beside the local folder.
// A kill at any point leaves the claim in the remote `.processing/`; the next fetch finishes it, downloading only
// what the local folder does not hold already, so no file is read twice or lost.
import path from 'node:path/posix';
import type { ClaimedFile, DropFolder } from './drop-folder.ts';
import { newClaimId } from './drop-folder.ts';
import { openSftp, sftpCall, type SftpLink, type SftpRemoteSettings } from './sftp-remote.ts';

type Sftp = SftpLink['sftp'];

interface RemoteEntry {
  filename: string;
  attrs: { size: number; mtime: number; mode: number };
}

const claimSeparator = '--';
const regularFile = 0o100000;

export interface SftpFetchOptions {
  remote: SftpRemoteSettings;
  pattern: RegExp;
  stableMs: number;
  /** Remote folder the fetched files move to; default `<directory>/done`. */
  doneDir: string;
}

export class SftpFetch {
  readonly #options: SftpFetchOptions;
  readonly #folder: DropFolder;
  readonly #seen = new Map<string, { size: number; mtime: number; since: number }>();
  #link: Promise<SftpLink> | undefined;

  constructor(options: SftpFetchOptions, folder: DropFolder) {
    this.#options = options;
    this.#folder = folder;
  }

  /** Claims left in the remote `.processing/`, then the stable new files, each held locally and moved remotely. */
  async fetch(now = Date.now()): Promise<ClaimedFile[]> {
    try {
      this.#link ??= this.#connect();
      const { sftp } = await this.#link;
      const claims = [...(await this.#leftovers(sftp)), ...(await this.#claimStable(sftp, now))];
      const fetched: ClaimedFile[] = [];
      for (const claim of claims) fetched.push(await this.#take(sftp, claim.name, claim.claimId));
      return fetched;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  close(): void {
    const link = this.#link;
    this.#link = undefined;
    link?.then((l) => l.close()).catch(() => undefined);
  }

  async #connect(): Promise<SftpLink> {
    const link = await openSftp(this.#options.remote);
    for (const dir of [this.#processing, this.#options.doneDir])
      await sftpCall((done) => link.sftp.mkdir(dir, done)).catch(() => undefined);
    return link;
  }

  get #processing(): string {
    return path.join(this.#options.remote.directory, '.processing');
  }

  async #leftovers(sftp: Sftp): Promise<Array<{ name: string; claimId: string }>> {
    const entries = await sftpCall<RemoteEntry[]>((done) => sftp.readdir(this.#processing, done));
    return entries
      .map((e) => e.filename)
      .filter((n) => n.includes(claimSeparator))
      .sort()
      .map((entry) => {
        const [claimId, ...rest] = entry.split(claimSeparator);
        return { claimId: claimId ?? '', name: rest.join(claimSeparator) };
      });
  }

  async #claimStable(sftp: Sftp, now: number): Promise<Array<{ name: string; claimId: string }>> {
    const { directory } = this.#options.remote;
    const entries = await sftpCall<RemoteEntry[]>((done) => sftp.readdir(directory, done));
    const present = new Set<string>();
    const ready: RemoteEntry[] = [];
    for (const entry of entries) {
      const name = entry.filename;
      if ((entry.attrs.mode & 0o170000) !== regularFile || name.startsWith('.') || !this.#options.pattern.test(name))
        continue;
      present.add(name);
      const seen = this.#seen.get(name);
      if (seen === undefined || seen.size !== entry.attrs.size || seen.mtime !== entry.attrs.mtime) {
        this.#seen.set(name, { size: entry.attrs.size, mtime: entry.attrs.mtime, since: now });
        if (this.#options.stableMs > 0) continue;
      } else if (now - seen.since < this.#options.stableMs) continue;
      ready.push(entry);
    }
    for (const name of this.#seen.keys()) if (!present.has(name)) this.#seen.delete(name);
    ready.sort((a, b) => a.attrs.mtime - b.attrs.mtime || a.filename.localeCompare(b.filename));
    const claimed: Array<{ name: string; claimId: string }> = [];
    for (const entry of ready) {
      const claimId = newClaimId();
      const target = path.join(this.#processing, `${claimId}${claimSeparator}${entry.filename}`);
      try {
        await sftpCall((done) => sftp.rename(path.join(directory, entry.filename), target, done));
      } catch {
        continue; // Gone meanwhile, or taken by another reader.
      }
      this.#seen.delete(entry.filename);
      claimed.push({ name: entry.filename, claimId });
    }
    return claimed;
  }

  /** Downloads the claim unless the local folder holds it, then moves the remote file to the done folder. */
  async #take(sftp: Sftp, name: string, claimId: string): Promise<ClaimedFile> {
    const remote = path.join(this.#processing, `${claimId}${claimSeparator}${name}`);
    const claimed = await this.#folder.adopt(name, claimId, (temp) =>
      sftpCall((done) => sftp.fastGet(remote, temp, done)),
    );
    const done = this.#options.doneDir;
    // SSH_FXP_RENAME refuses an existing target (draft-ietf-secsh-filexfer-02 6.5): a resent name keeps its claim id.
    await sftpCall((cb) => sftp.rename(remote, path.join(done, name), cb)).catch(() =>
      sftpCall((cb) => sftp.rename(remote, path.join(done, `${claimId}${claimSeparator}${name}`), cb)),
    );
    return claimed;
  }
}
