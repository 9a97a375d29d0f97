// Repeated wrong passwords for one user from one address are slowed, then locked out for a while: the first
// `freeFailures` cost nothing, each further one doubles a wait (1 s, 2 s, 4 s, ...) before the next try is
// heard, and `maxFailures` lock the pair for `lockSeconds`. Keyed by user and address together, so an attacker
// cannot lock a colleague out from elsewhere. Kept in memory: a restart forgets it, as it forgets a cool-down.
export interface SignInSettings {
  freeFailures: number;
  maxFailures: number;
  lockSeconds: number;
}

interface Failures {
  count: number;
  /** Epoch ms before which the pair is not heard. */
  until: number;
  last: number;
}

export class SignInThrottle {
  readonly #settings: SignInSettings;
  readonly #now: () => number;
  readonly #entries = new Map<string, Failures>();

  constructor(settings: SignInSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
  }

  /** Seconds to wait before this user may try again from this address; 0 when a try is heard now. */
  retryAfter(username: string, address: string): number {
    const entry = this.#entries.get(key(username, address));
    if (!entry) return 0;
    return Math.max(0, Math.ceil((entry.until - this.#now()) / 1000));
  }

  failed(username: string, address: string): void {
    const now = this.#now();
    const k = key(username, address);
    const entry = this.#entries.get(k) ?? { count: 0, until: 0, last: now };
    entry.count++;
    entry.last = now;
    const { freeFailures, maxFailures, lockSeconds } = this.#settings;
    if (entry.count >= maxFailures) entry.until = now + lockSeconds * 1000;
    else if (entry.count > freeFailures)
      entry.until = now + Math.min(2 ** (entry.count - freeFailures - 1), lockSeconds) * 1000;
    this.#entries.set(k, entry);
    this.#forgetOld(now);
  }

  succeeded(username: string, address: string): void {
    this.#entries.delete(key(username, address));
  }

  /** Failures older than a lock are forgotten, so the map stays as small as the recent attempts. */
  #forgetOld(now: number): void {
    if (this.#entries.size < 1000) return;
    for (const [k, entry] of this.#entries) {
      if (entry.until <= now && now - entry.last > this.#settings.lockSeconds * 1000) this.#entries.delete(k);
    }
  }
}

function key(username: string, address: string): string {
  return `${username.toLowerCase()}\u0000${address}`;
}
