// What ftp-srv calls for an FTPS account (its FileSystem contract: get, list, chdir, write, mkdir, delete, rename):
// every path goes through the account's jail, nothing can be read back, and a stored file is processed before
// the stream ftp-srv writes into finishes, so the 226 reply means processed and on disk, and a refusal is a
// 550 carrying the reason. FTP has no "file complete" signal beyond the end of the data connection, so a
// transfer cut short arrives as a short file, which the DICOM and ZIP checks then refuse.
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type Jail, JailError, type JailedPath } from './jail.ts';

export interface FtpFileSystemOptions {
  jail: Jail;
  maxFileBytes: number;
  finished(file: JailedPath): Promise<{ ok: boolean; message: string }>;
  /** Counts transfers in flight on the connection (an idle control connection is not closed during one). */
  transfers: { count: number };
}

type NamedStats = Stats & { name: string };

export class FtpFileSystem {
  readonly #options: FtpFileSystemOptions;
  #cwd = '/';

  constructor(options: FtpFileSystemOptions) {
    this.#options = options;
  }

  currentDirectory(): string {
    return this.#cwd;
  }

  async get(fileName: string): Promise<NamedStats> {
    const { real } = await this.#resolve(fileName);
    return Object.assign(await lstat(real), { name: fileName });
  }

  async list(dir = '.'): Promise<NamedStats[]> {
    const { real } = await this.#resolve(dir);
    const out: NamedStats[] = [];
    for (const name of await readdir(real)) {
      const stat = await lstat(path.join(real, name)).catch(() => undefined);
      if (stat !== undefined && !stat.isSymbolicLink()) out.push(Object.assign(stat, { name }));
    }
    return out;
  }

  async chdir(dir = '.'): Promise<string> {
    const target = await this.#resolve(dir);
    if (!(await lstat(target.real)).isDirectory()) throw new Error('Not a valid directory');
    this.#cwd = target.virtual;
    return this.#cwd;
  }

  async write(fileName: string, options: { append?: boolean } = {}): Promise<{ stream: Writable; clientPath: string }> {
    const target = await this.#resolve(fileName);
    if (target.virtual === '/') throw new Error('not a file name');
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW;
    const fd = await open(target.real, flags | (options.append ? constants.O_APPEND : constants.O_TRUNC), 0o600);
    return { stream: new UploadStream(fd, target, this.#options), clientPath: target.virtual };
  }

  read(): never {
    throw new Error('this server takes uploads only');
  }

  async delete(target: string): Promise<void> {
    const { real, virtual } = await this.#resolve(target);
    if (virtual === '/') throw new Error('not the top folder');
    if ((await lstat(real)).isDirectory()) await rmdir(real);
    else await unlink(real);
  }

  /** The reply names the folder as the client sees it. */
  async mkdir(dir: string): Promise<string> {
    const { real, virtual } = await this.#resolve(dir);
    await mkdir(real, { mode: 0o700 });
    return virtual;
  }

  async rename(from: string, to: string): Promise<void> {
    const source = await this.#resolve(from);
    const target = await this.#resolve(to);
    if (source.virtual === '/' || target.virtual === '/') throw new Error('not the top folder');
    await rename(source.real, target.real);
  }

  chmod(): never {
    throw new Error('modes are the hub’s to set');
  }

  getUniqueName(): string {
    return `upload-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  }

  #resolve(clientPath: string): Promise<JailedPath> {
    return this.#options.jail.resolve(clientPath, this.#cwd);
  }
}

/**
 * ftp-srv answers 550 with an error's message: file system errors name the hub's own paths, so they are replaced
 * by what the client may know.
 */
function clientError(error: unknown): Error {
  if (error instanceof JailError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new Error('no such file or folder');
  if (code === 'ELOOP') return new Error('symbolic links are not followed');
  if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EISDIR') return new Error(code);
  if (error instanceof Error && !('code' in error)) return error;
  return new Error('the hub could not do that');
}

/** The client-facing file system: every method's failure goes through clientError. */
export function ftpFileSystem(options: FtpFileSystemOptions): FtpFileSystem {
  const fs = new FtpFileSystem(options);
  return new Proxy(fs, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          const result: unknown = value.apply(target, args);
          return result instanceof Promise
            ? result.catch((error: unknown) => Promise.reject(clientError(error)))
            : result;
        } catch (error) {
          throw clientError(error);
        }
      };
    },
  });
}

/** The file of one STOR: written, fsynced and closed, then processed, all before 'finish'. */
class UploadStream extends Writable {
  readonly #fd: FileHandle;
  readonly #target: JailedPath;
  readonly #options: FtpFileSystemOptions;
  #bytes = 0;
  #closed = false;
  #kept = false;

  constructor(fd: FileHandle, target: JailedPath, options: FtpFileSystemOptions) {
    super({ highWaterMark: 256 * 1024 });
    this.#fd = fd;
    this.#target = target;
    this.#options = options;
    options.transfers.count += 1;
    // ftp-srv's STOR ends the upload by emitting 'close' on the stream when the data connection ends (its own
    // file system turns that into end()); a real 'close' after finishing must not end it twice.
    this.once('close', () => {
      if (!this.writableEnded && !this.destroyed) this.end();
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.#options.maxFileBytes) {
      done(new Error(`a file may be at most ${this.#options.maxFileBytes} bytes`));
      return;
    }
    this.#fd.write(chunk).then(
      () => done(),
      (error: Error) => done(error),
    );
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#finish().then(
      () => done(),
      (error: Error) => done(error),
    );
  }

  async #finish(): Promise<void> {
    await this.#fd.sync();
    await this.#close();
    this.#kept = true;
    const verdict = await this.#options.finished(this.#target);
    if (!verdict.ok) throw new Error(verdict.message.replace(/[\r\n]+/g, ' ').slice(0, 500));
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#options.transfers.count -= 1;
    const cleanup = async (): Promise<void> => {
      await this.#close();
      // A transfer that failed before it was processed leaves nothing behind: it was never acknowledged.
      if (!this.#kept) await unlink(this.#target.real).catch(() => undefined);
    };
    cleanup().then(
      () => done(error),
      () => done(error),
    );
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fd.close();
  }
}
