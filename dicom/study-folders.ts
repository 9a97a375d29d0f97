// The study folders instances are moved into, kept open while their study is arriving. A study's instances come
// one after another, and each move must be made durable by an fsync of its folder before the sender hears
// success; opening, syncing and closing the folder each time cost three threadpool round trips, and the mkdir
// and rename two more, per instance (~0.3 ms of a 100 KB instance, timed in the whole-hub benchmark row).
// Here mkdir and rename run inline (page-cache updates of microseconds), and the fsync goes to the threadpool
// on a handle that stays open.
import { mkdirSync, renameSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from '../runtime/sync-directory.ts';

/** Studies arriving at the same time, per hub; more only hold descriptors. */
const keepOpen = 16;

export class StudyFolders {
  readonly #root: string;
  /** Open folders, least recently used first (Map keeps insertion order). */
  readonly #open = new Map<string, Promise<FileHandle>>();
  #rootHandle: Promise<FileHandle> | undefined;

  /** `root` holds one folder per study. */
  constructor(root: string) {
    // Resolved, so the folders mkdir reports it made compare equal to those the walk up from a study meets.
    this.#root = path.resolve(root);
  }

  /**
   * Moves `from` to `<root>/<study>/<name>` and returns the new path with a promise that settles once the move is
   * durable (the folder fsynced, and for each folder made its entry in its parent too). With `sync` false the
   * move is only done.
   */
  move(from: string, study: string, name: string, sync: boolean): { filePath: string; synced: Promise<void> } {
    const folder = path.join(this.#root, study);
    const filePath = path.join(folder, name);
    const firstCreated = mkdirSync(folder, { recursive: true });
    if (firstCreated !== undefined) this.#forgetUnder(firstCreated);
    renameSync(from, filePath);
    if (!sync) return { filePath, synced: Promise.resolve() };
    const syncs = [this.#handle(folder).then((handle) => handle.sync())];
    // Each folder this mkdir made has its entry in its parent: a new study's in the root (through the handle kept
    // for it), the root's own when the very first study made it, and so on up to the first folder made (the
    // storage folder too, when it was removed from outside). As runtime/create-durably.ts walks up.
    if (firstCreated !== undefined) {
      for (let made = folder; ; made = path.dirname(made)) {
        const parent = path.dirname(made);
        syncs.push(parent === this.#root ? this.#rootFolder().then((handle) => handle.sync()) : syncDirectory(parent));
        if (made === firstCreated || parent === made) break;
      }
    }
    const synced = Promise.all(syncs).then(() => undefined);
    // Awaited by the caller; until then a rejection must not count as unhandled.
    synced.catch(() => undefined);
    return { filePath, synced };
  }

  /**
   * Lets go of the handles kept for `created` and the folders under it: it was just created, so any handle kept
   * for it is of a folder removed meanwhile (from outside the hub), and an fsync on that would leave the new
   * folder's entries unsynced.
   */
  #forgetUnder(created: string): void {
    const under = (folder: string): boolean => folder === created || folder.startsWith(`${created}${path.sep}`);
    for (const [folder, handle] of this.#open) {
      if (!under(folder)) continue;
      this.#open.delete(folder);
      void closeLater(handle);
    }
    if (under(this.#root) && this.#rootHandle !== undefined) {
      void closeLater(this.#rootHandle);
      this.#rootHandle = undefined;
    }
  }

  #handle(folder: string): Promise<FileHandle> {
    const known = this.#open.get(folder);
    if (known !== undefined) {
      this.#open.delete(folder);
      this.#open.set(folder, known);
      return known;
    }
    const opening = open(folder, 'r');
    // A failed open is not kept: the next instance tries again.
    opening.catch(() => this.#open.delete(folder));
    this.#open.set(folder, opening);
    if (this.#open.size > keepOpen) {
      const [oldest, handle] = this.#open.entries().next().value as [string, Promise<FileHandle>];
      this.#open.delete(oldest);
      void closeLater(handle);
    }
    return opening;
  }

  #rootFolder(): Promise<FileHandle> {
    if (this.#rootHandle === undefined) {
      this.#rootHandle = open(this.#root, 'r');
      this.#rootHandle.catch(() => (this.#rootHandle = undefined));
    }
    return this.#rootHandle;
  }

  async close(): Promise<void> {
    const handles = [...this.#open.values(), ...(this.#rootHandle ? [this.#rootHandle] : [])];
    this.#open.clear();
    this.#rootHandle = undefined;
    await Promise.all(handles.map(closeLater));
  }
}

/** The handle may still be opening; FileHandle.close() itself waits for a sync still running on it. */
async function closeLater(handle: Promise<FileHandle>): Promise<void> {
  const opened = await handle.catch(() => undefined);
  await opened?.close().catch(() => undefined);
}
