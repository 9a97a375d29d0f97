// Long-lived parts are started in order and stopped in reverse, so nothing is stopped while a part started
// after it (and maybe using it) still runs: HTTP stops before channels, channels before the scheduler and store.
import { errorText, type Logger } from './log.ts';

export interface Stoppable {
  stop(): Promise<void>;
}

export class Lifecycle {
  readonly #started: Array<{ name: string; part: Stoppable }> = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Starts a part and remembers it for stopAll(). */
  async start<T extends Stoppable>(name: string, part: T, start: (part: T) => Promise<void>): Promise<T> {
    await start(part);
    this.#started.push({ name, part });
    this.#log.debug('started', { part: name });
    return part;
  }

  /** Remembers a part that was started elsewhere (e.g. a store that is open once constructed). */
  add(name: string, part: Stoppable): void {
    this.#started.push({ name, part });
  }

  /** Stops every part even when one fails, so a stuck listener cannot keep the store open. */
  async stopAll(): Promise<boolean> {
    let clean = true;
    while (this.#started.length > 0) {
      const { name, part } = this.#started.pop()!;
      try {
        await part.stop();
        this.#log.debug('stopped', { part: name });
      } catch (error) {
        clean = false;
        this.#log.error('stop failed', { part: name, error: errorText(error) });
      }
    }
    return clean;
  }
}
