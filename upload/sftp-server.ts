// The SFTP listener (ssh2's server): password (scrypt) and public-key logins through the shared account check and
// login throttle, then the `sftp` subsystem only – no shell, exec or forwarding, which ssh2 refuses when no
// handler is registered. Connections are accepted by runtime/listener.ts, like every other listener of the hub
// (limits, idle time, a port in use as one clear error), and handed to ssh2 with injectSocket.
import type net from 'node:net';
import ssh2, { type AuthContext, type Connection, type ParsedKey } from 'ssh2';
import { listenerLimitHits } from '../http/metrics.ts';
import { type ConnectionLimits, Listener } from '../runtime/listener.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import type { UploadAccount, UploadAccounts } from './accounts.ts';
import type { Jail, JailedPath } from './jail.ts';
import { SftpSession } from './sftp-session.ts';
import { nativeSshCiphers } from './ssh-ciphers.ts';

export interface SftpServerOptions {
  host: string;
  port: number;
  limits: ConnectionLimits;
  hostKey: Buffer;
  accounts: UploadAccounts;
  jailFor(account: UploadAccount): Promise<Jail>;
  finished(
    account: UploadAccount,
    file: JailedPath,
    remote: string,
    synced: Promise<void>,
  ): Promise<{ ok: boolean; message: string }>;
  maxFileBytes: number;
  log: Logger;
}

const methods: AuthContext['method'][] = ['publickey', 'password'];

export class SftpServer {
  readonly #options: SftpServerOptions;
  readonly #ssh: ssh2.Server;
  readonly #listener: Listener;
  readonly #clients = new Set<Connection>();

  constructor(options: SftpServerOptions) {
    this.#options = options;
    this.#ssh = new ssh2.Server({ hostKeys: [options.hostKey] });
    this.#ssh.on('connection', (client, info) => this.#client(client, info.ip));
    this.#listener = new Listener({
      kind: 'sftp',
      host: options.host,
      port: options.port,
      limits: options.limits,
      log: options.log,
      counter: listenerLimitHits,
      onConnection: (socket: net.Socket) => this.#ssh.injectSocket(socket),
    });
  }

  get port(): number {
    return this.#listener.port;
  }

  async start(): Promise<void> {
    await this.#listener.start();
    if (!nativeSshCiphers())
      this.#options.log.warn(
        "ssh2's native ciphers do not load in this Node: SFTP runs on its slower JavaScript ciphers (`npm run postinstall` builds them)",
      );
  }

  async stop(): Promise<void> {
    await this.#listener.stop();
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  #client(client: Connection, remote: string): void {
    this.#clients.add(client);
    let login: { account: UploadAccount; jail: Jail } | undefined;
    client.on('authentication', (ctx) => {
      this.#authenticate(ctx, remote).then(
        async (accepted) => {
          if (accepted === undefined) return ctx.reject(methods);
          if (accepted === 'key-ok') return ctx.accept();
          // The jail is made before the login succeeds: OpenSSH sends its SFTP INIT right behind the subsystem
          // request, so the session must be accepted synchronously then.
          login = { account: accepted, jail: await this.#options.jailFor(accepted) };
          ctx.accept();
        },
        (error: unknown) => {
          this.#options.log.warn('sftp login check failed', { error: errorText(error) });
          ctx.reject(methods);
        },
      );
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp, reject) => {
          const current = login;
          if (current === undefined) return reject();
          new SftpSession(acceptSftp(), {
            jail: current.jail,
            maxFileBytes: this.#options.maxFileBytes,
            log: this.#options.log.child({ user: current.account.user }),
            finished: (file, synced) => this.#options.finished(current.account, file, remote, synced),
          });
        });
      });
    });
    client.on('error', (error) => this.#options.log.debug('sftp connection error', { error: errorText(error) }));
    client.on('close', () => this.#clients.delete(client));
  }

  /** The account on success, 'key-ok' for a key offered without a signature yet, undefined when refused. */
  async #authenticate(ctx: AuthContext, remote: string): Promise<UploadAccount | 'key-ok' | undefined> {
    const { accounts } = this.#options;
    if (ctx.method !== 'password' && ctx.method !== 'publickey') return undefined;
    if (accounts.lockedFor(ctx.username, remote, 'sftp') !== undefined) return undefined;
    if (ctx.method === 'password') {
      const result = await accounts.password(ctx.username, ctx.password, remote, 'sftp');
      return result.status === 'accepted' ? result.account : undefined;
    }
    const account = accounts.get(ctx.username);
    const key = account?.publicKeys
      .map(parsedKey)
      .find((k) => k?.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data));
    // RFC 4252 7: a key offered without a signature is a question ("would you take it?"), not a failed login.
    if (!ctx.signature || !ctx.blob) return key === undefined ? undefined : 'key-ok';
    if (account !== undefined && key?.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true)
      return accounts.accepted(account, remote, 'sftp', 'publickey').status === 'accepted' ? account : undefined;
    await accounts.failed(ctx.username, remote, 'sftp', 'publickey');
    return undefined;
  }
}

function parsedKey(line: string): ParsedKey | undefined {
  const key = ssh2.utils.parseKey(line);
  return key instanceof Error ? undefined : Array.isArray(key) ? key[0] : key;
}
