// Directory syncs shared by the writers that wait for them. A new file is durable only once its directory entry
// is (see sync-directory.ts); when many requests put files into the same directories at once (every signed
// report's PDF under reports/), each waiting for an fsync of its own queues them one behind the other on libuv's
// threads. Here a sync asked for while one of the same directory runs waits for the next one, which starts after
// the running one ends and serves everyone who asked meanwhile: each caller still gets a sync that began after
// its own entry was made, as with the store's group commit of its WAL (store/embedded/engine.ts).
import { syncDirectory } from './sync-directory.ts';

interface DirectoryState {
  running: Promise<void> | undefined;
  next: Promise<void> | undefined;
}

export class DirectorySyncs {
  readonly #directories = new Map<string, DirectoryState>();
  readonly #syncOne: (directory: string) => Promise<void>;

  /** `syncOne` is the fsync of one directory (a test passes one it can count and hold). */
  constructor(syncOne: (directory: string) => Promise<void> = syncDirectory) {
    this.#syncOne = syncOne;
  }

  /** Resolves once an fsync of `directory` that started after this call has finished. */
  sync(directory: string): Promise<void> {
    let state = this.#directories.get(directory);
    if (state === undefined) {
      state = { running: undefined, next: undefined };
      this.#directories.set(directory, state);
    }
    if (state.running === undefined) return this.#start(directory, state);
    state.next ??= state.running.catch(() => undefined).then(() => this.#start(directory, state));
    return state.next;
  }

  #start(directory: string, state: DirectoryState): Promise<void> {
    state.next = undefined;
    const running = this.#syncOne(directory).finally(() => {
      if (state.running === running) state.running = undefined;
      if (state.running === undefined && state.next === undefined) this.#directories.delete(directory);
    });
    state.running = running;
    return running;
  }
}
