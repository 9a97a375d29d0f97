// The hub's one HTTP listener: Koa with routers mounted by hub.ts (/health, /metrics, /fhir/R4, /api, /).
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type Router from '@koa/router';
import Koa from 'koa';
import { counter, listenerLimitHits } from './metrics.ts';
import { problemResponses } from './problem.ts';
import { Listener, type TlsSettings } from '../runtime/listener.ts';
import { errorText, type Logger } from '../runtime/log.ts';

export { ListenError } from '../runtime/listener.ts';

const requests = counter('hub_http_requests_total', 'HTTP requests answered, by status class.');
export interface HttpLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** No byte either way on a connection (between or during requests) for this long closes it. */
  idleTimeoutMs: number;
  /** The request line and headers must be in within this (node:http headersTimeout; slowloris). */
  headersTimeoutMs: number;
  /** The whole request, body included, must be in within this (node:http requestTimeout). */
  requestTimeoutMs: number;
}

export const defaultHttpLimits: HttpLimits = {
  maxConnections: 500,
  maxConnectionsPerAddress: 100,
  idleTimeoutMs: 120_000,
  headersTimeoutMs: 20_000,
  // STOW-RS uploads of whole studies take minutes on slow links.
  requestTimeoutMs: 600_000,
};

export interface HttpServerOptions {
  host: string;
  port: number;
  log: Logger;
  tls?: TlsSettings;
  limits?: HttpLimits;
}

/** A peer that hung up before its answer was written: routine on any network, not the hub's fault. */
const clientGone = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

export class HttpServer {
  readonly app = new Koa();
  readonly #options: HttpServerOptions;
  #listener: Listener | undefined;

  constructor(options: HttpServerOptions) {
    this.#options = options;
    this.app.proxy = false;
    // Without a listener Koa prints every error of writing an answer as a stack trace on stderr: one per client
    // that resets its connection, so a peer dropping connections could fill the disk with them.
    this.app.on('error', (error: NodeJS.ErrnoException) => {
      if (clientGone.has(error.code ?? '')) options.log.debug('client left before its answer', { code: error.code });
      else options.log.warn('http answer failed', { error: errorText(error) });
    });
    // Counts every answer; errors no router rendered become RFC 9457 problems (FHIR renders its own first).
    const problems = problemResponses(options.log);
    this.app.use(async (ctx, next) => {
      try {
        await problems(ctx, next);
      } finally {
        requests.inc({ status: `${Math.floor(ctx.status / 100)}xx` });
      }
    });
  }

  mount(router: Router): void {
    this.app.use(router.routes());
    this.app.use(router.allowedMethods());
  }

  async start(): Promise<void> {
    const { host, port, tls, log } = this.#options;
    const limits = this.#options.limits ?? defaultHttpLimits;
    const listener: Listener = new Listener({
      kind: 'http',
      host,
      port,
      ...(tls === undefined ? {} : { tls }),
      limits,
      log,
      counter: listenerLimitHits,
      createServer: (tlsOptions) => {
        const callback = this.app.callback();
        // node:http checks headersTimeout and requestTimeout on this interval (30 s by default).
        const checks = { connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs) };
        const server =
          tlsOptions === undefined
            ? http.createServer(checks, callback)
            : https.createServer({ ...tlsOptions, ...checks }, callback);
        // Longer than the 60 s idle timeout of the usual reverse proxies, so the proxy closes an idle connection
        // first and never sends a request down one the hub is closing. Node's 5 s default also loses requests
        // after any stall over 5 s: timers run before reads, so the socket closes with the next request unread.
        server.keepAliveTimeout = Math.min(65_000, limits.idleTimeoutMs);
        server.headersTimeout = limits.headersTimeoutMs;
        server.requestTimeout = limits.requestTimeoutMs;
        server.timeout = limits.idleTimeoutMs;
        server.on('timeout', (socket: Socket) => {
          listener.guardOf(socket).hit('idle-timeout', { ms: limits.idleTimeoutMs });
          socket.destroy();
        });
        server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
          const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
          if (timedOut) listener.guardOf(socket).hit('read-timeout', { ms: limits.headersTimeoutMs });
          // What node:http answers by itself without a clientError listener.
          if (socket.writable && !socket.writableEnded) {
            const status = timedOut
              ? '408 Request Timeout'
              : error.code === 'HPE_HEADER_OVERFLOW'
                ? '431 Request Header Fields Too Large'
                : '400 Bad Request';
            socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
          }
          socket.destroy();
        });
        return server;
      },
    });
    await listener.start();
    this.#listener = listener;
    log.info('http listening', { host, port: this.port, tls: tls !== undefined });
  }

  get port(): number {
    return this.#listener?.port ?? this.#options.port;
  }

  /** Stops accepting, lets requests in flight finish for a moment, then closes what is left. */
  async stop(): Promise<void> {
    const listener = this.#listener;
    const server = listener?.server as http.Server | undefined;
    if (!listener || !server) return;
    this.#listener = undefined;
    const closed = listener.stop();
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), 5_000);
    await closed;
    clearTimeout(timer);
  }
}
