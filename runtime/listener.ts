// Every TCP listener of the hub (MLLP, DICOM, HTTP) opens here: host and port, optional TLS (1.2 or newer, an
// optional CA to check client certificates), the connection limits every listener needs (total, per remote
// address, idle time), and one error type for a listen that fails, which the composition root reports as the
// config error. What a protocol adds (frame and PDU sizes, read timers) stays in the protocol; it reports its
// own limit hits through the same guard, so each hit is logged once per connection and counted the same way.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { errorText, type Logger } from './log.ts';

export interface TlsSettings {
  certFile: string;
  keyFile: string;
  /** With a CA, a client must present a certificate it signed (mutual TLS); without, none is asked for. */
  caFile?: string;
}

export interface ConnectionLimits {
  /** Connections open at once on this listener; more are closed at accept. */
  maxConnections: number;
  /** Connections open at once from one remote address. */
  maxConnectionsPerAddress: number;
  /** No byte either way for this long closes the connection (unless the owner says it is busy). */
  idleTimeoutMs: number;
}

/** The names limit hits are logged and counted under. */
export type LimitName =
  | 'connections'
  | 'connections-per-address'
  | 'idle-timeout'
  | 'read-timeout'
  | 'bytes-per-connection'
  | 'bytes-total'
  | 'bytes-outside-frame'
  | 'associations'
  | 'tls-handshake';

/** Where limit hits are counted: a `counter()` from http/metrics.ts fits; runtime/ does not import it. */
export interface LimitCounter {
  inc(labels: Record<string, string>): void;
}

/** A listen that failed (port in use, no permission, bad address, unreadable certificate): a config mistake. */
export class ListenError extends Error {
  readonly code: string | undefined;
  /** Which setting is wrong: the address (`port`) or the certificate files (`tls`). */
  readonly setting: 'port' | 'tls';
  constructor(message: string, code: string | undefined, setting: 'port' | 'tls', options?: ErrorOptions) {
    super(message, options);
    this.name = 'ListenError';
    this.code = code;
    this.setting = setting;
  }
}

export interface ListenerOptions {
  /** `mllp`, `dicom`, `http`: the label of logs and counts. */
  kind: string;
  host: string;
  port: number;
  tls?: TlsSettings;
  limits: ConnectionLimits;
  log: Logger;
  counter?: LimitCounter;
  /**
   * Builds the server for the TLS options (undefined: plain TCP); HTTP passes http/https.createServer. Without
   * it the listener makes a net or tls server and hands each connection, once usable, to onConnection.
   */
  createServer?: (tlsOptions: tls.TlsOptions | undefined) => net.Server;
  onConnection?: (socket: net.Socket, guard: ConnectionGuard) => void;
  /** Keep our side open after the peer ended its own (MLLP: a sender may end and still wait for ACKs). */
  allowHalfOpen?: boolean;
  /**
   * Called when a connection was idle for idleTimeoutMs; true means the owner took care of it (it is waiting
   * for our own answer, or the owner closed it the protocol's way, e.g. with an A-ABORT). Otherwise it is closed.
   */
  onIdle?: (socket: net.Socket, guard: ConnectionGuard) => boolean;
}

/** What a protocol uses to report a limit it enforces itself: logged once per connection, always counted. */
export interface ConnectionGuard {
  hit(limit: LimitName, fields?: Record<string, string | number>): void;
}

/** Certificate and key files read once at start; a missing or bad file is a ListenError naming it. */
export function serverTlsOptions(settings: TlsSettings): tls.TlsOptions {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ListenError(`cannot read the TLS ${what} file ${file} (${code ?? errorText(error)})`, code, 'tls', {
        cause: error,
      });
    }
  };
  const options: tls.TlsOptions = {
    cert: read(settings.certFile, 'certificate'),
    key: read(settings.keyFile, 'key'),
    // BCP 195 and PS3.15 B.9: TLS 1.2 or newer only.
    minVersion: 'TLSv1.2',
  };
  if (settings.caFile !== undefined) {
    options.ca = read(settings.caFile, 'CA');
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  try {
    tls.createSecureContext(options);
  } catch (error) {
    throw new ListenError(`the TLS certificate or key cannot be used: ${errorText(error)}`, undefined, 'tls', {
      cause: error,
    });
  }
  return options;
}

let reusePort = false;

/**
 * Several hub processes of one installation (hub.workers) open the same ports: with SO_REUSEPORT (Linux, Node
 * 22.12 or newer) the kernel spreads incoming connections over them. Set once at start, before any listener opens.
 */
export function sharePortsWithSiblings(share: boolean): void {
  reusePort = share;
}

export class Listener {
  readonly #options: ListenerOptions;
  readonly #perAddress = new Map<string, number>();
  readonly #logged = new WeakMap<net.Socket, Set<LimitName>>();
  #server: net.Server | undefined;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  get port(): number {
    const address = this.#server?.address();
    return address && typeof address === 'object' ? address.port : this.#options.port;
  }

  get server(): net.Server | undefined {
    return this.#server;
  }

  async start(): Promise<void> {
    if (this.#server !== undefined) throw new Error(`${this.#options.kind} listener already started`);
    const { host, port, kind } = this.#options;
    const tlsOptions = this.#options.tls === undefined ? undefined : serverTlsOptions(this.#options.tls);
    const server = this.#create(tlsOptions);
    server.maxConnections = this.#options.limits.maxConnections;
    // Node closes a connection past maxConnections itself and says so with 'drop' (no socket to guard).
    server.on('drop', (data?: { remoteAddress?: string }) =>
      this.#count('connections', { remote: data?.remoteAddress ?? '?' }),
    );
    server.on('connection', (socket: net.Socket) => this.#admit(socket));
    if (tlsOptions !== undefined) {
      server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
        this.#guard(socket).hit('tls-handshake', { error: errorText(error) });
      });
    }
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException): void => {
        const reason =
          error.code === 'EADDRINUSE'
            ? 'the port is already in use'
            : error.code === 'EACCES'
              ? 'permission denied'
              : errorText(error);
        reject(new ListenError(`${host}:${port}: ${reason}`, error.code, 'port', { cause: error }));
      };
      server.once('error', failed);
      server.listen({ host, port, exclusive: true, reusePort }, () => {
        server.off('error', failed);
        resolve();
      });
    });
    server.on('error', (error) => this.#options.log.error(`${kind} listener error`, { error: errorText(error) }));
    this.#server = server;
  }

  /** Stops accepting; open connections are their owners' to finish. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #create(tlsOptions: tls.TlsOptions | undefined): net.Server {
    if (this.#options.createServer) return this.#options.createServer(tlsOptions);
    const handOver = (socket: net.Socket): void => {
      this.#watchIdle(socket);
      this.#options.onConnection?.(socket, this.#guard(socket));
    };
    const allowHalfOpen = this.#options.allowHalfOpen ?? false;
    if (tlsOptions === undefined) return net.createServer({ noDelay: true, allowHalfOpen }, handOver);
    // The handshake gets the idle time too: a peer that connects and says nothing must not hold a slot.
    // Half-open is switched on only once the handshake is done: a TLS server created with allowHalfOpen never
    // closes a socket whose client dropped the handshake (Node 24: it holds a connection slot and close() for ever).
    const server = tls.createServer(
      { ...tlsOptions, handshakeTimeout: this.#options.limits.idleTimeoutMs },
      (socket: tls.TLSSocket) => {
        socket.allowHalfOpen = allowHalfOpen;
        handOver(socket);
      },
    );
    return server;
  }

  #admit(socket: net.Socket): void {
    const address = socket.remoteAddress ?? '?';
    const open = (this.#perAddress.get(address) ?? 0) + 1;
    if (open > this.#options.limits.maxConnectionsPerAddress) {
      this.#guard(socket).hit('connections-per-address', { open: open - 1 });
      socket.destroy();
      return;
    }
    this.#perAddress.set(address, open);
    socket.once('close', () => {
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    });
    socket.setNoDelay(true);
  }

  #watchIdle(socket: net.Socket): void {
    socket.setTimeout(this.#options.limits.idleTimeoutMs, () => {
      if (this.#options.onIdle?.(socket, this.#guard(socket))) return;
      this.#guard(socket).hit('idle-timeout', { ms: this.#options.limits.idleTimeoutMs });
      socket.destroy();
    });
  }

  /** The guard of one connection (also what HTTP uses for the timeouts node:http enforces). */
  guardOf(socket: net.Socket): ConnectionGuard {
    return this.#guard(socket);
  }

  #guard(socket: net.Socket): ConnectionGuard {
    return {
      hit: (limit, fields = {}) => {
        const remote = socket.remoteAddress ?? '?';
        this.#count(limit, undefined);
        let seen = this.#logged.get(socket);
        if (seen === undefined) {
          seen = new Set();
          this.#logged.set(socket, seen);
        }
        if (seen.has(limit)) return;
        seen.add(limit);
        this.#options.log.warn(`${this.#options.kind} connection limit hit`, {
          limit,
          remote,
          remotePort: socket.remotePort ?? 0,
          ...fields,
        });
      },
    };
  }

  #count(limit: LimitName, logFields: Record<string, string> | undefined): void {
    this.#options.counter?.inc({ listener: this.#options.kind, limit });
    if (logFields) this.#options.log.warn(`${this.#options.kind} connection limit hit`, { limit, ...logFields });
  }
}
