// The upload accounts (hub.yaml `upload.accounts`) and the one login check SFTP and FTPS share: the throttle is
// asked first (a locked pair is refused without looking at the password), a wrong password or key counts as a
// failure, and an unknown user costs the same scrypt work as a known one so timing does not tell them apart.
import type { Logger } from '../runtime/log.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { hashPassword, verifyPassword } from './password-hash.ts';

export interface UploadAccount {
  user: string;
  /** The facility code the account uploads for: it stands for the calling AE of a C-STORE. */
  facility: string;
  passwordHash?: string;
  publicKeys: readonly string[];
}

export type LoginResult =
  | { status: 'accepted'; account: UploadAccount }
  | { status: 'denied' }
  | { status: 'locked'; seconds: number };

export class UploadAccounts {
  readonly #accounts: ReadonlyMap<string, UploadAccount>;
  readonly #throttle: LoginThrottle;
  readonly #log: Logger;
  #dummyHash: Promise<string> | undefined;

  constructor(accounts: readonly UploadAccount[], throttle: LoginThrottle, log: Logger) {
    this.#accounts = new Map(accounts.map((a) => [a.user, a]));
    this.#throttle = throttle;
    this.#log = log;
  }

  get(user: string): UploadAccount | undefined {
    return this.#accounts.get(user);
  }

  async password(user: string, password: string, address: string, protocol: string): Promise<LoginResult> {
    const locked = this.#locked(user, address, protocol);
    if (locked !== undefined) return locked;
    const account = this.#accounts.get(user);
    // An unknown user or an account without a password still pays for one scrypt.
    this.#dummyHash ??= hashPassword('not a password');
    const hash = account?.passwordHash ?? (await this.#dummyHash);
    const ok = (await verifyPassword(password, hash)) && account?.passwordHash !== undefined;
    if (ok && account) return this.accepted(account, address, protocol, 'password');
    return this.failed(user, address, protocol, 'password');
  }

  /** Before a public key signature is checked: a locked pair is refused at once. */
  #locked(user: string, address: string, protocol: string): LoginResult | undefined {
    const seconds = this.#throttle.lockedFor(user, address);
    if (seconds === 0) return undefined;
    this.#log.warn('upload login refused: locked', { user, remote: address, protocol, seconds });
    return { status: 'locked', seconds };
  }

  lockedFor(user: string, address: string, protocol: string): LoginResult | undefined {
    return this.#locked(user, address, protocol);
  }

  accepted(account: UploadAccount, address: string, protocol: string, method: string): LoginResult {
    this.#throttle.succeeded(account.user, address);
    this.#log.info('upload login', { user: account.user, remote: address, protocol, method });
    return { status: 'accepted', account };
  }

  async failed(user: string, address: string, protocol: string, method: string): Promise<LoginResult> {
    const locked = await this.#throttle.failed(user, address);
    this.#log.warn(locked ? 'upload login failed: now locked' : 'upload login failed', {
      user,
      remote: address,
      protocol,
      method,
    });
    return { status: 'denied' };
  }
}
