// Lets a change from outside (the console's retry-now and give-up on a queued message) run between a queue
// worker's steps: never while a delivery of that destination is in flight, and before the next step starts, so
// the worker reads the queue afresh instead of sending what it had read before the change.
export class StepGate {
  #stepping: Promise<unknown> = Promise.resolve();
  #held: Promise<void> | undefined;

  /** Runs one worker step, after any change waiting for its turn. */
  async step<T>(run: () => Promise<T>): Promise<T> {
    while (this.#held) await this.#held;
    const step = run();
    this.#stepping = step.catch(() => {});
    return step;
  }

  /** Runs `change` once the current step ended; `after` (forget what was read, wake) runs whatever happens. */
  async between<T>(change: () => Promise<T>, after: () => void): Promise<T> {
    const previous = this.#held;
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    this.#held = held;
    try {
      await previous;
      await this.#stepping;
      return await change();
    } finally {
      if (this.#held === held) this.#held = undefined;
      release();
      after();
    }
  }
}
