// One instance being written to disk: a temp file in the storage directory that becomes visible under its final
// name only after fdatasync and rename, so a crash or a failed transfer never leaves a half-written .dcm behind.
//
// Syscalls are split by what they wait on. Small writes, rename and close only touch the page cache and take
// microseconds, so they run inline (the open is done ahead, see temp-files.ts): sending each through the libuv threadpool cost ~0.2 ms of hand-off
// apiece on a loaded 2-core machine, which was most of the time per 100 KB instance (measured). fdatasync and
// the directory fsync wait on the device (~0.5-1 ms each), and big batches of a large instance take a while to
// copy, so those run on the threadpool and never block the event loop. The socket is paused while more than
// `highWaterMark` bytes wait for the disk, so memory is bounded per association, not by instance size.
import { closeSync, fdatasync, linkSync, renameSync, unlinkSync, writev, writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { TempFiles } from './temp-files.ts';

/** Below this, queued slices wait for more (or for commit) instead of costing a write each. */
const writeBatch = 256 * 1024;
/**
 * While a large instance streams in, its written data is fdatasynced in the background every this many bytes,
 * so the device writes overlap the network and the final fdatasync before the answer has little left to do.
 */
const backgroundSyncEvery = 8 * 1024 * 1024;
/** Linux IOV_MAX; writev refuses more buffers than this in one call. */
const maxIovecs = 1024;

function writevAsync(fd: number, buffers: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) =>
    writev(fd, buffers, (error, written) => (error === null ? resolve(written) : reject(error))),
  );
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));
}

export class InstanceFile {
  readonly tempPath: string;
  readonly #highWaterMark: number;
  readonly #directory: FileHandle;
  readonly #sync: boolean;
  #fd: number | undefined;
  #queue: Buffer[] = [];
  #queued = 0;
  #flushing: Promise<void> | undefined;
  #syncing: Promise<void> | undefined;
  #unsynced = 0;
  #error: Error | undefined;
  #onDrain: (() => void) | undefined;
  bytes = 0;

  /**
   * `temps` hands out temp files in the storage directory; `directory` is an open handle on that directory,
   * shared by all instances, fsynced after each rename. `sync` false skips both fsyncs (throwaway storage
   * only; see ScpOptions.syncStorage).
   */
  constructor(temps: TempFiles, directory: FileHandle, highWaterMark: number, sync: boolean) {
    this.#directory = directory;
    this.#highWaterMark = highWaterMark;
    this.#sync = sync;
    try {
      const temp = temps.take();
      this.tempPath = temp.path;
      this.#fd = temp.fd;
    } catch (error) {
      this.tempPath = '';
      this.#fail(error);
    }
  }

  /** Returns false when the caller should stop feeding until `onDrain` fires. */
  write(bytes: Buffer, onDrain: () => void): boolean {
    if (this.#error !== undefined) return true;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    this.bytes += bytes.length;
    if (this.#flushing === undefined && this.#queued >= writeBatch) this.#flushing = this.#flush();
    if (this.#queued < this.#highWaterMark) return true;
    this.#onDrain = onDrain;
    return false;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#error === undefined && this.#fd !== undefined) {
        const batch = this.#queue.splice(0, maxIovecs);
        const size = batch.reduce((sum, buffer) => sum + buffer.length, 0);
        const written = await writevAsync(this.#fd, batch);
        if (written !== size) this.#writeRest(batch, written);
        this.#queued -= size;
        this.#unsynced += size;
        this.#syncInBackground();
        if (this.#queued < this.#highWaterMark) this.#drained();
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#flushing = undefined;
    }
  }

  #syncInBackground(): void {
    const fd = this.#fd;
    if (!this.#sync || fd === undefined || this.#syncing !== undefined || this.#unsynced < backgroundSyncEvery) return;
    this.#unsynced = 0;
    // A failure here is not lost: the final fdatasync in commit() reports the same error.
    this.#syncing = fdatasyncAsync(fd)
      .catch(() => undefined)
      .finally(() => {
        this.#syncing = undefined;
      });
  }

  /** A short writev (allowed, rare on regular files) continues inline from where it stopped. */
  #writeRest(batch: Buffer[], written: number): void {
    let rest = Buffer.concat(batch).subarray(written);
    while (rest.length > 0 && this.#fd !== undefined) rest = rest.subarray(writevSync(this.#fd, [rest]));
  }

  #drained(): void {
    const onDrain = this.#onDrain;
    this.#onDrain = undefined;
    onDrain?.();
  }

  #fail(error: unknown): void {
    this.#error ??= error instanceof Error ? error : new Error(String(error));
    this.#queue = [];
    this.#queued = 0;
    // A stalled socket would wait for a drain that never comes; let it run so the data set is read to its end.
    this.#drained();
  }

  /**
   * Writes the rest and fdatasyncs (the size is flushed with the data; mtime need not be), then closes: the temp
   * file is complete on disk under its temp name. On any failure the temp file is removed and the error thrown.
   */
  async seal(): Promise<void> {
    try {
      while (this.#flushing !== undefined) await this.#flushing;
      if (this.#error !== undefined) throw this.#error;
      await this.#syncing;
      const fd = this.#fd;
      if (fd === undefined) throw new Error('temp file is not open');
      for (let start = 0; start < this.#queue.length; start += maxIovecs) {
        const batch = this.#queue.slice(start, start + maxIovecs);
        const written = writevSync(fd, batch);
        const size = batch.reduce((sum, buffer) => sum + buffer.length, 0);
        if (written !== size) this.#writeRest(batch, written);
      }
      this.#queue = [];
      this.#queued = 0;
      if (this.#sync) await fdatasyncAsync(fd);
      this.#close();
    } catch (error) {
      this.discard();
      throw error;
    }
  }

  /**
   * Lands the file under `finalPath` with its data and its directory entry on disk: without the directory fsync a
   * crash can lose the rename of an instance we already acknowledged (ext4/xfs journal renames lazily). A new name
   * is linked at once, so the data's fdatasync and the directory's fsync run together (one sync round); until both
   * are done nothing is acknowledged, and a crash leaves at worst a short file under that name, which the resend
   * replaces. An existing name may hold an acknowledged copy: it is replaced only once the new data are on disk.
   */
  async commit(finalPath: string): Promise<void> {
    if (!this.#sync || !this.#linkNew(finalPath)) {
      await this.seal();
      try {
        renameSync(this.tempPath, finalPath);
        if (this.#sync) await this.#directory.sync();
      } catch (error) {
        this.discard();
        throw error;
      }
      return;
    }
    const [sealed, listed] = await Promise.allSettled([this.seal(), this.#directory.sync()]);
    if (sealed.status === 'fulfilled' && listed.status === 'fulfilled') return;
    this.discard();
    removeQuietly(finalPath);
    throw sealed.status === 'rejected' ? sealed.reason : (listed as PromiseRejectedResult).reason;
  }

  /** Gives the temp file `finalPath` as its name if no file has it (link(2) fails with EEXIST, atomically). */
  #linkNew(finalPath: string): boolean {
    if (this.#error !== undefined || this.tempPath === '') return false;
    try {
      linkSync(this.tempPath, finalPath);
    } catch {
      // EEXIST, or a link the file system refuses: the rename path decides and reports.
      return false;
    }
    removeQuietly(this.tempPath);
    return true;
  }

  /** Removes the temp file; safe to call more than once and after a failed open. */
  discard(): void {
    this.#fail(new Error('discarded'));
    this.#close();
    try {
      if (this.tempPath !== '') unlinkSync(this.tempPath);
    } catch {
      // Already renamed, removed, or never created.
    }
  }

  #close(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    // An async writev or fdatasync may still hold the fd (discard during a flush); closing under it would hand
    // the number to the next open. Let them settle first, then close.
    const busy = [this.#flushing, this.#syncing].filter((work) => work !== undefined);
    if (busy.length > 0) {
      void Promise.allSettled(busy).then(() => closeSync(fd));
      return;
    }
    closeSync(fd);
  }
}

function removeQuietly(filePath: string): void {
  try {
    unlinkSync(filePath);
  } catch {
    // Already gone.
  }
}
