// The hub's one HTTP listener: Koa with routers mounted by hub.ts (/health, /metrics, /fhir/R4, /api, /).
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import Koa from 'koa';
import { counter } from './metrics.ts';
import { problemResponses } from './problem.ts';
import { errorText, type Logger } from '../runtime/log.ts';

const requests = counter('hub_http_requests_total', 'HTTP requests answered, by status class.');

export class ListenError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'ListenError';
    this.code = code;
  }
}

export interface HttpServerOptions {
  host: string;
  port: number;
  log: Logger;
}

export class HttpServer {
  readonly app = new Koa();
  readonly #options: HttpServerOptions;
  #server: Server | undefined;

  constructor(options: HttpServerOptions) {
    this.#options = options;
    this.app.proxy = false;
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
    const server = this.app.listen({ host: this.#options.host, port: this.#options.port, exclusive: true });
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EACCES' ? 'permission denied' : errorText(error);
      throw new ListenError(`${this.#options.host}:${this.#options.port}: ${reason}`, code);
    }
    server.keepAliveTimeout = 5_000;
    this.#server = server;
    this.#options.log.info('http listening', { host: this.#options.host, port: this.port });
  }

  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? this.#options.port;
  }

  /** Stops accepting, lets requests in flight finish for a moment, then closes what is left. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), 5_000);
    await closed;
    clearTimeout(timer);
  }
}
