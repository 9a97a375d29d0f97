// Lets a queue worker sleep until a timeout or until someone enqueues for it. A wake that arrives while the
// worker is busy is remembered, so an enqueue is never missed between "queue looked empty" and "sleep".
export class WakeSignal {
  #pending = false;
  #waiters: Array<() => void> = [];

  wake(): void {
    this.#pending = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves after `ms`, or at once if woken since the last wait. */
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        this.#pending = false;
        resolve();
      };
      const timer = setTimeout(
        () => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          resolve();
        },
        Math.max(0, ms),
      );
      this.#waiters.push(waiter);
    });
  }
}
