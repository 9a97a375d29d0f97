// The FTPS listener (ftp-srv), explicit TLS only (RFC 4217): until AUTH TLS every command but AUTH, FEAT, SYST,
// NOOP and QUIT is answered 530, so no user name or password crosses the wire in clear, and the data connections
// of a secured session are TLS too. Passive mode only (active PORT/EPRT would make the hub connect wherever a
// client says), ports from the configured range. Connections are accepted by runtime/listener.ts like every
// listener of the hub.
//
// ftp-srv's traps, handled here: its constructor installs SIGTERM/SIGINT/SIGQUIT handlers that call
// process.exit(0) (removed: the hub stops its parts itself, in order); it logs through bunyan to stdout (given a
// logger that writes at debug); its command socket closes on any socket timeout, even during a long upload
// (replaced by an idle check that waits for transfers).
import { createRequire } from 'node:module';
import type net from 'node:net';
import { createSecureContext, type SecureContext, type SecureContextOptions, TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { FtpSrv } from 'ftp-srv';
import { listenerLimitHits } from '../http/metrics.ts';
import { type ConnectionLimits, Listener } from '../runtime/listener.ts';
import type { Logger } from '../runtime/log.ts';
import type { UploadAccount, UploadAccounts } from './accounts.ts';
import { ftpFileSystem } from './ftp-file-system.ts';
import type { Jail, JailedPath } from './jail.ts';

export interface FtpsServerOptions {
  host: string;
  port: number;
  passivePorts: { min: number; max: number };
  passiveHost: string;
  tls: SecureContextOptions;
  limits: ConnectionLimits;
  accounts: UploadAccounts;
  jailFor(account: UploadAccount): Promise<Jail>;
  finished(account: UploadAccount, file: JailedPath, remote: string): Promise<{ ok: boolean; message: string }>;
  maxFileBytes: number;
  log: Logger;
}

// ftp-srv chains bluebird's own methods (.tap) on what reply() returns: a stand-in reply must return its kind.
const Bluebird = createRequire(fileURLToPath(import.meta.resolve('ftp-srv')))('bluebird') as {
  resolve(): Promise<unknown>;
};
const settled = (): Promise<unknown> => Bluebird.resolve();

/** What may be said before AUTH TLS. */
const beforeTls = new Set(['AUTH', 'FEAT', 'SYST', 'NOOP', 'QUIT', 'PBSZ', 'PROT', 'OPTS', 'HELP']);
const signals = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

interface FtpConnection {
  secure: boolean;
  authenticated?: boolean;
  ip: string;
  commandSocket: net.Socket;
  commands: {
    handle(command: string | { directive: string; arg?: string | null }): Promise<unknown>;
    parse(text: string): { directive: string; arg: string | null };
  };
  reply(code: number, message?: string): Promise<unknown>;
  close(code?: number, message?: string): Promise<unknown>;
}

export class FtpsServer {
  readonly #options: FtpsServerOptions;
  readonly #ftp: FtpSrv;
  readonly #listener: Listener;
  readonly #connections = new Set<FtpConnection>();
  readonly #secureContext: SecureContext;

  constructor(options: FtpsServerOptions) {
    this.#options = options;
    this.#secureContext = createSecureContext({ ...options.tls, minVersion: 'TLSv1.2' });
    const before = new Map(signals.map((s) => [s, process.listeners(s)]));
    this.#ftp = new FtpSrv({
      url: `ftp://${options.host}:${options.port}`,
      pasv_url: options.passiveHost,
      pasv_min: options.passivePorts.min,
      pasv_max: options.passivePorts.max,
      anonymous: false,
      tls: { ...options.tls, minVersion: 'TLSv1.2' },
      greeting: ['rso-hub upload (explicit TLS required: AUTH TLS)'],
      // Upload only; no active mode; no SITE CHMOD.
      blacklist: ['RETR', 'PORT', 'EPRT', 'SITE', 'STOU'],
      log: bunyanLike(options.log),
    } as ConstructorParameters<typeof FtpSrv>[0]);
    for (const signal of signals) {
      for (const listener of process.listeners(signal))
        if (!before.get(signal)?.includes(listener)) process.off(signal, listener);
    }
    this.#ftp.on('login', (data, resolve, reject) => {
      const connection = data.connection as unknown as FtpConnection;
      this.#login(connection, data.username, data.password).then(resolve, reject);
    });
    (this.#ftp as unknown as NodeJS.EventEmitter).on('connect', ({ connection }: { connection: unknown }) =>
      this.#connected(connection as FtpConnection),
    );
    const server = (this.#ftp as unknown as { server: net.Server }).server;
    this.#listener = new Listener({
      kind: 'ftps',
      host: options.host,
      port: options.port,
      limits: options.limits,
      log: options.log,
      counter: listenerLimitHits,
      createServer: () => server,
    });
  }

  get port(): number {
    return this.#listener.port;
  }

  async start(): Promise<void> {
    await this.#listener.start();
  }

  async stop(): Promise<void> {
    const stopped = this.#listener.stop();
    for (const connection of this.#connections)
      await connection.close(421, 'the hub is stopping').catch(() => undefined);
    await stopped;
  }

  #connected(connection: FtpConnection): void {
    this.#connections.add(connection);
    const socket = connection.commandSocket;
    socket.once('close', () => this.#connections.delete(connection));
    const transfers = { count: 0 };
    (connection as unknown as { transfers: { count: number } }).transfers = transfers;
    socket.removeAllListeners('timeout');
    socket.setTimeout(this.#options.limits.idleTimeoutMs, () => {
      if (transfers.count > 0) return;
      this.#listener.guardOf(socket).hit('idle-timeout', { ms: this.#options.limits.idleTimeoutMs });
      void connection.close(421, 'idle for too long');
    });
    const commands = connection.commands;
    const original = commands.handle.bind(commands);
    // ftp-srv runs the commands of each socket read as they come, so a client that pipelines (lftp sends MKD while
    // its PASS is still being checked) gets "530 requires authentication": one command at a time, in order.
    let previous: Promise<unknown> = Promise.resolve();
    const handle = (command: string | { directive: string } | (() => Promise<unknown>)): Promise<unknown> => {
      const next = previous.then(() => (typeof command === 'function' ? command() : original(command)));
      previous = next.catch(() => undefined);
      return next;
    };
    commands.handle = (command) => {
      const parsed = typeof command === 'string' ? commands.parse(command) : command;
      const directive = parsed.directive;
      // lftp sends OPTS UTF8 ON before logging in, which ftp-srv answers 530 (lftp then reads it as a failed login).
      if (directive === 'OPTS' && !connection.authenticated) return connection.reply(200, 'UTF8 is always on');
      if (!connection.secure && !beforeTls.has(directive))
        return connection.reply(530, 'TLS required: send AUTH TLS first (curl --ssl-reqd, lftp ftp:ssl-force)');
      if ((directive === 'STOR' || directive === 'APPE') && connection.secure)
        return this.#store(connection, handle, command);
      if (directive === 'AUTH' && !connection.secure && /^TLS$/i.test(parsed.arg ?? '')) {
        return handle(() => this.#startTls(connection));
      }
      return handle(command);
    };
  }

  /**
   * AUTH TLS (RFC 4217 4): ftp-srv wraps the socket only once its 234 reply is written, so a ClientHello sent at
   * once (lftp does) is read as a command and answered in clear. Here the wrap follows the write in the same tick.
   */
  #startTls(connection: FtpConnection): Promise<unknown> {
    const raw = connection.commandSocket;
    raw.write('234 Honored\r\n');
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.#secureContext });
    // As ftp-srv's own AUTH does: the connection keeps listening on the plain socket's events.
    for (const event of ['data', 'timeout', 'end', 'close', 'drain', 'error'])
      secure.on(event, (...args: unknown[]) => raw.emit(event, ...args));
    connection.commandSocket = secure;
    connection.secure = true;
    return settled();
  }

  /**
   * RFC 4217 7: a client may wait for the 150 reply before its TLS handshake on the data connection (lftp does),
   * but ftp-srv sends 150 only once that handshake is done: each waits for the other until ftp-srv gives up (425).
   * The 150 is sent first here, and ftp-srv's own is dropped.
   */
  async #store(
    connection: FtpConnection,
    handle: (command: string | { directive: string }) => Promise<unknown>,
    command: string | { directive: string },
  ): Promise<unknown> {
    if (!connection.authenticated) return handle(command);
    await connection.reply(150, 'Opening the TLS data connection');
    const reply = connection.reply;
    connection.reply = (code, message) => (code === 150 ? settled() : reply.call(connection, code, message));
    try {
      return await handle(command);
    } finally {
      connection.reply = reply;
    }
  }

  async #login(connection: FtpConnection, user: string, password: string) {
    if (!connection.secure) throw new Error('TLS required');
    const result = await this.#options.accounts.password(user, password, connection.ip, 'ftps');
    if (result.status === 'locked') throw new Error(`too many failed logins: try again in ${result.seconds} s`);
    if (result.status !== 'accepted') throw new Error('login incorrect');
    const { account } = result;
    const transfers = (connection as unknown as { transfers: { count: number } }).transfers;
    const fs = ftpFileSystem({
      jail: await this.#options.jailFor(account),
      maxFileBytes: this.#options.maxFileBytes,
      transfers,
      finished: (file) => this.#options.finished(account, file, connection.ip),
    });
    return { fs: fs as unknown as never };
  }
}

/** ftp-srv's bunyan calls, at debug: they may name files and users. */
function bunyanLike(log: Logger): unknown {
  const write = (...args: unknown[]): void => {
    const text = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : '')).join(' ');
    log.debug('ftp-srv', {}, { text: text.trim() });
  };
  const logger = {
    trace: () => undefined,
    debug: write,
    info: write,
    warn: write,
    error: write,
    fatal: write,
    child: () => logger,
  };
  return logger;
}
