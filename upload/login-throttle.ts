// Repeated failed logins are slowed and then locked, per user and remote address, for both SFTP and FTPS: each
// failure answers only after a delay, and `maxFailures` failures in a row lock that pair for `lockSeconds`
// (OWASP Authentication Cheat Sheet, "Account lockout"). Keyed by the pair, not the user alone, so someone
// guessing from elsewhere cannot lock a technician out of their own site. A success clears the count.
export interface ThrottleSettings {
  maxFailures: number;
  lockSeconds: number;
  failureDelayMs: number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
}

export class LoginThrottle {
  readonly #settings: ThrottleSettings;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(settings: ThrottleSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
  }

  /** Seconds the pair stays locked, or 0 when it may try. */
  lockedFor(user: string, address: string): number {
    const entry = this.#entries.get(key(user, address));
    if (entry === undefined) return 0;
    const left = entry.lockedUntil - this.#now();
    if (left > 0) return Math.ceil(left / 1000);
    if (entry.lockedUntil > 0) this.#entries.delete(key(user, address));
    return 0;
  }

  /** Counts a failure and waits the failure delay; true when this failure locked the pair. */
  async failed(user: string, address: string): Promise<boolean> {
    const k = key(user, address);
    const entry = this.#entries.get(k) ?? { failures: 0, lockedUntil: 0 };
    entry.failures += 1;
    const locked = entry.failures >= this.#settings.maxFailures;
    if (locked) entry.lockedUntil = this.#now() + this.#settings.lockSeconds * 1000;
    this.#entries.set(k, entry);
    this.#prune();
    if (this.#settings.failureDelayMs > 0)
      await new Promise((resolve) => setTimeout(resolve, this.#settings.failureDelayMs));
    return locked;
  }

  succeeded(user: string, address: string): void {
    this.#entries.delete(key(user, address));
  }

  /** Keeps the table bounded under a spray of made-up user names: expired locks go first. */
  #prune(): void {
    if (this.#entries.size <= 10_000) return;
    const now = this.#now();
    for (const [k, entry] of this.#entries) if (entry.lockedUntil < now) this.#entries.delete(k);
  }
}

function key(user: string, address: string): string {
  return `${user}\u0000${address}`;
}
