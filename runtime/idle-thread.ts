// The hub's worker threads (FHIR validation, MLLP sending, map scripts, report PDFs) start with their first piece
// of work and end after `hub.threadIdleSeconds` without any: each costs 20-100 MiB (its own V8 heap, and the
// libraries it loads: node-hl7-client, the FHIR definitions, pdfkit), which a hub that is not sending, creating or
// signing should not hold. `npm run bench -- footprint` measures what that gives back. The price is the next
// piece of work after an idle spell waiting for its thread to start again (tens to a few hundred ms).
import { returnFreedMemory } from './malloc-trim.ts';

let idleMs = 30_000;

/** Process-wide, set once at start from the config (0: threads stay once started). */
export function setThreadIdleSeconds(seconds: number): void {
  idleMs = seconds * 1000;
}

/** One thread owner's idle countdown: `idle()` when its work is done, `busy()` when work comes. */
export class IdleEnd {
  readonly #end: () => Promise<unknown> | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** `end` ends the thread and resolves once it is gone (undefined: there was none). */
  constructor(end: () => Promise<unknown> | undefined) {
    this.#end = end;
  }

  busy(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  idle(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (idleMs <= 0) return;
    // Unref'd: an idle countdown never keeps a process alive that has nothing else to do.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // The thread's heap is unmapped as it ends, but what it had from malloc stays with glibc unless trimmed.
      void this.#end()?.then(returnFreedMemory, () => undefined);
    }, idleMs).unref();
  }
}
