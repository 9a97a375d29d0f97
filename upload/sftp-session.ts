// One SFTP session (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks) over an account's jailed folder.
// Upload only: files open for writing, never for reading; folders may be made, listed and removed. A file counts
// as uploaded when the client CLOSEs it: it is fsynced, handed to the processor, and the CLOSE is answered with
// the processor's verdict, so `put` fails with the reason when the hub refuses the file. A name ending in
// `.filepart` (WinSCP's temporary upload name) is processed when it is renamed to its final name instead. A
// session that ends with files still open removes them: nothing was acknowledged for them.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';
import { errorText, type Logger } from '../runtime/log.ts';
import { JailError, type Jail, type JailedPath } from './jail.ts';

/** SSH_FX_* (filexfer-02 7) and SSH_FXF_* (6.3). */
const status = { ok: 0, eof: 1, noSuchFile: 2, permissionDenied: 3, failure: 4, unsupported: 8 } as const;
const open_ = { read: 0x1, write: 0x2, append: 0x4, creat: 0x8, trunc: 0x10, excl: 0x20 } as const;

export interface SessionOptions {
  jail: Jail;
  maxFileBytes: number;
  log: Logger;
  /**
   * The client closed the file; `synced` settles once its data is on disk and the descriptor closed (the
   * processor reads the file meanwhile and waits for it before storing anything). Resolves with the CLOSE answer.
   */
  finished(file: JailedPath, synced: Promise<void>): Promise<{ ok: boolean; message: string }>;
}

interface FileHandleState {
  kind: 'file';
  path: JailedPath;
  fd: FileHandle;
  writes: Set<Promise<unknown>>;
  tooLarge: boolean;
}

interface DirHandleState {
  kind: 'dir';
  path: JailedPath;
  listed: boolean;
}

const deferredSuffix = '.filepart';
/** Open files and folders per session; OpenSSH's sftp holds one or two. */
const maxHandles = 64;

class HandleLimit extends Error {}

export class SftpSession {
  readonly #sftp: SFTPWrapper;
  readonly #options: SessionOptions;
  readonly #handles = new Map<number, FileHandleState | DirHandleState>();
  #nextHandle = 1;

  constructor(sftp: SFTPWrapper, options: SessionOptions) {
    this.#sftp = sftp;
    this.#options = options;
    const on = (event: string, work: (id: number, ...args: never[]) => Promise<void>): void => {
      sftp.on(event as 'OPEN', (id: number, ...args: never[]) => {
        work(id, ...args).catch((error: unknown) => this.#fail(id, error));
      });
    };
    on('REALPATH', (id, p: string) => this.#realpath(id, p));
    on('STAT', (id, p: string) => this.#stat(id, p));
    on('LSTAT', (id, p: string) => this.#stat(id, p));
    on('FSTAT', (id, h: Buffer) => this.#fstat(id, h));
    on('OPEN', (id, p: string, flags: number) => this.#open(id, p, flags));
    on('WRITE', (id, h: Buffer, offset: number, data: Buffer) => this.#write(id, h, offset, data));
    on('CLOSE', (id, h: Buffer) => this.#close(id, h));
    on('OPENDIR', (id, p: string) => this.#opendir(id, p));
    on('READDIR', (id, h: Buffer) => this.#readdir(id, h));
    on('MKDIR', (id, p: string) => this.#simple(id, p, (real) => mkdir(real, { mode: 0o700 })));
    on('RMDIR', (id, p: string) => this.#simple(id, p, (real) => rmdir(real)));
    on('REMOVE', (id, p: string) => this.#simple(id, p, (real) => unlink(real)));
    on('RENAME', (id, from: string, to: string) => this.#rename(id, from, to));
    // Times and modes are the hub's to set (`put -p` asks); saying OK keeps such clients going.
    on('SETSTAT', async (id) => void sftp.status(id, status.ok));
    on('FSETSTAT', async (id) => void sftp.status(id, status.ok));
    for (const event of ['READ', 'READLINK', 'SYMLINK'])
      on(event, async (id) => void sftp.status(id, status.unsupported, 'this server takes uploads only'));
    // The client's EOF ends the session: closing our side lets OpenSSH's sftp exit instead of waiting.
    sftp.on('end', () => sftp.end());
    sftp.on('close', () => void this.#abandon());
  }

  async #realpath(id: number, clientPath: string): Promise<void> {
    const { virtual } = await this.#options.jail.resolve(clientPath);
    this.#sftp.name(id, [{ filename: virtual, longname: virtual, attrs: {} as Attributes }]);
  }

  async #stat(id: number, clientPath: string): Promise<void> {
    const { real } = await this.#options.jail.resolve(clientPath);
    this.#sftp.attrs(id, attributes(await lstat(real)));
  }

  async #fstat(id: number, handle: Buffer): Promise<void> {
    const state = this.#handle(handle);
    if (state?.kind !== 'file') return void this.#sftp.status(id, status.failure, 'not an open file');
    this.#sftp.attrs(id, attributes(await state.fd.stat()));
  }

  async #open(id: number, clientPath: string, flags: number): Promise<void> {
    if (flags & open_.read || !(flags & open_.write))
      return void this.#sftp.status(id, status.permissionDenied, 'this server takes uploads only');
    const target = await this.#options.jail.resolve(clientPath);
    // O_NOFOLLOW: the jail refused links on the way; this refuses one made since at the last step.
    let mode = constants.O_WRONLY | constants.O_NOFOLLOW;
    if (flags & open_.creat) mode |= constants.O_CREAT;
    if (flags & open_.trunc) mode |= constants.O_TRUNC;
    if (flags & open_.excl) mode |= constants.O_EXCL;
    if (flags & open_.append) mode |= constants.O_APPEND;
    const fd = await open(target.real, mode, 0o600);
    this.#sftp.handle(id, this.#add({ kind: 'file', path: target, fd, writes: new Set(), tooLarge: false }));
  }

  async #write(id: number, handle: Buffer, offset: number, data: Buffer): Promise<void> {
    const state = this.#handle(handle);
    if (state?.kind !== 'file') return void this.#sftp.status(id, status.failure, 'not an open file');
    if (offset + data.length > this.#options.maxFileBytes) {
      state.tooLarge = true;
      return void this.#sftp.status(id, status.failure, `a file may be at most ${this.#options.maxFileBytes} bytes`);
    }
    const write = state.fd.write(data, 0, data.length, offset);
    state.writes.add(write);
    try {
      await write;
    } finally {
      state.writes.delete(write);
    }
    this.#sftp.status(id, status.ok);
  }

  async #close(id: number, handle: Buffer): Promise<void> {
    const state = this.#handle(handle);
    if (state === undefined) return void this.#sftp.status(id, status.failure, 'no such handle');
    this.#handles.delete(handle.readUInt32BE(0));
    if (state.kind === 'dir') return void this.#sftp.status(id, status.ok);
    await Promise.allSettled(state.writes);
    const synced = state.fd.sync().finally(() => state.fd.close());
    if (state.tooLarge || state.path.virtual.endsWith(deferredSuffix)) await synced;
    if (state.tooLarge) {
      await unlink(state.path.real).catch(() => undefined);
      return void this.#sftp.status(id, status.failure, `a file may be at most ${this.#options.maxFileBytes} bytes`);
    }
    if (state.path.virtual.endsWith(deferredSuffix)) return void this.#sftp.status(id, status.ok);
    await this.#finish(id, state.path, synced);
  }

  async #finish(id: number, file: JailedPath, synced: Promise<void> = Promise.resolve()): Promise<void> {
    // Settled before the answer in every case; a failed sync fails the processing that waits for it.
    synced.catch(() => undefined);
    const verdict = await this.#options.finished(file, synced);
    this.#sftp.status(id, verdict.ok ? status.ok : status.failure, verdict.message.slice(0, 1000));
  }

  async #opendir(id: number, clientPath: string): Promise<void> {
    const target = await this.#options.jail.resolve(clientPath);
    if (!(await lstat(target.real)).isDirectory()) return void this.#sftp.status(id, status.failure, 'not a directory');
    this.#sftp.handle(id, this.#add({ kind: 'dir', path: target, listed: false }));
  }

  async #readdir(id: number, handle: Buffer): Promise<void> {
    const state = this.#handle(handle);
    if (state?.kind !== 'dir') return void this.#sftp.status(id, status.failure, 'not an open directory');
    if (state.listed) return void this.#sftp.status(id, status.eof);
    state.listed = true;
    const names: FileEntry[] = [];
    for (const name of await readdir(state.path.real)) {
      const stat = await lstat(`${state.path.real}/${name}`).catch(() => undefined);
      if (stat === undefined || stat.isSymbolicLink()) continue;
      const attrs = attributes(stat);
      names.push({ filename: name, longname: longname(name, stat.isDirectory(), stat.size, stat.mtime), attrs });
    }
    if (names.length === 0) return void this.#sftp.status(id, status.eof);
    this.#sftp.name(id, names);
  }

  async #simple(id: number, clientPath: string, act: (real: string) => Promise<unknown>): Promise<void> {
    const { real, virtual } = await this.#options.jail.resolve(clientPath);
    if (virtual === '/') return void this.#sftp.status(id, status.permissionDenied, 'not the top folder');
    await act(real);
    this.#sftp.status(id, status.ok);
  }

  async #rename(id: number, from: string, to: string): Promise<void> {
    const source = await this.#options.jail.resolve(from);
    const target = await this.#options.jail.resolve(to);
    if (source.virtual === '/' || target.virtual === '/')
      return void this.#sftp.status(id, status.permissionDenied, 'not the top folder');
    await rename(source.real, target.real);
    if (source.virtual.endsWith(deferredSuffix) && !target.virtual.endsWith(deferredSuffix))
      return this.#finish(id, target);
    this.#sftp.status(id, status.ok);
  }

  #add(state: FileHandleState | DirHandleState): Buffer {
    // Each handle holds a descriptor: a client that opens without closing must not exhaust the hub's.
    if (this.#handles.size >= maxHandles) {
      if (state.kind === 'file') void state.fd.close().then(() => unlink(state.path.real).catch(() => undefined));
      throw new HandleLimit();
    }
    const number = this.#nextHandle++;
    this.#handles.set(number, state);
    const handle = Buffer.alloc(4);
    handle.writeUInt32BE(number, 0);
    return handle;
  }

  #handle(handle: Buffer): FileHandleState | DirHandleState | undefined {
    return handle.length === 4 ? this.#handles.get(handle.readUInt32BE(0)) : undefined;
  }

  #fail(id: number, error: unknown): void {
    const code = (error as NodeJS.ErrnoException).code;
    const answer =
      error instanceof JailError
        ? { status: status.permissionDenied, text: error.message }
        : error instanceof HandleLimit
          ? { status: status.failure, text: `at most ${maxHandles} files and folders open at once` }
          : code === 'ENOENT' || code === 'ENOTDIR'
            ? { status: status.noSuchFile, text: 'no such file or folder' }
            : code === 'ELOOP'
              ? { status: status.permissionDenied, text: 'symbolic links are not followed' }
              : code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EISDIR'
                ? { status: status.failure, text: code }
                : { status: status.failure, text: 'the hub could not do that' };
    if (answer.text === 'the hub could not do that')
      this.#options.log.warn('sftp request failed', { error: errorText(error) });
    try {
      this.#sftp.status(id, answer.status, answer.text);
    } catch {
      // The channel is already gone.
    }
  }

  /** The session ended: files still open were never acknowledged, so they go. */
  async #abandon(): Promise<void> {
    for (const state of this.#handles.values()) {
      if (state.kind !== 'file') continue;
      await state.fd.close().catch(() => undefined);
      await unlink(state.path.real).catch(() => undefined);
    }
    this.#handles.clear();
  }
}

function attributes(stat: { mode: number; uid: number; gid: number; size: number; atime: Date; mtime: Date }) {
  return {
    mode: stat.mode,
    uid: stat.uid,
    gid: stat.gid,
    size: stat.size,
    atime: Math.floor(stat.atime.getTime() / 1000),
    mtime: Math.floor(stat.mtime.getTime() / 1000),
  } as Attributes;
}

function longname(name: string, directory: boolean, size: number, mtime: Date): string {
  const month = mtime.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(mtime.getUTCDate()).padStart(2, ' ');
  const time = `${String(mtime.getUTCHours()).padStart(2, '0')}:${String(mtime.getUTCMinutes()).padStart(2, '0')}`;
  return `${directory ? 'drwx------' : '-rw-------'} 1 upload upload ${String(size).padStart(10)} ${month} ${day} ${time} ${name}`;
}
