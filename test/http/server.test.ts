// The HTTP listener's limits and TLS: a client that never finishes its headers (slowloris) is answered 408 and
// closed while a normal request on another connection is served; over TLS, openssl s_client gets an answer.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import Router from '@koa/router';
import test from 'ava';
import { renderMetrics } from '../../http/metrics.ts';
import { defaultHttpLimits, HttpServer } from '../../http/server.ts';
import { createLogger } from '../../runtime/log.ts';
import type { TlsSettings } from '../../runtime/listener.ts';
import { makeCertificates } from '../support/certificates.ts';

const log = createLogger({ test: 'http-server' });

async function start(
  t: import('ava').ExecutionContext,
  options: { tls?: TlsSettings; headersTimeoutMs?: number } = {},
): Promise<HttpServer> {
  const server = new HttpServer({
    host: '127.0.0.1',
    port: 0,
    log,
    ...(options.tls ? { tls: options.tls } : {}),
    limits: { ...defaultHttpLimits, headersTimeoutMs: options.headersTimeoutMs ?? defaultHttpLimits.headersTimeoutMs },
  });
  const router = new Router();
  router.get('/ping', (ctx) => void (ctx.body = 'pong'));
  server.mount(router);
  await server.start();
  t.teardown(() => server.stop());
  return server;
}

test('a client that never finishes its headers gets 408 and is closed; another client is served meanwhile', async (t) => {
  const server = await start(t, { headersTimeoutMs: 1000 });
  const slow = net.connect({ host: '127.0.0.1', port: server.port });
  slow.on('error', () => undefined);
  await once(slow, 'connect');
  let answer = '';
  slow.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  const closed = once(slow, 'close');
  slow.write('GET /ping HTTP/1.1\r\nHost: hub\r\n');
  const ticker = setInterval(() => slow.writable && slow.write('X-Slow: 1\r\n'), 200);
  const response = await fetch(`http://127.0.0.1:${server.port}/ping`);
  t.is(await response.text(), 'pong');
  await closed;
  clearInterval(ticker);
  t.regex(answer, /^HTTP\/1\.1 408/);
  t.regex(renderMetrics(), /hub_listener_limit_hits_total\{listener="http",limit="read-timeout"\} [1-9]/);
});

test('over TLS openssl s_client gets the answer, with TLS 1.2 or newer', async (t) => {
  const c = await makeCertificates();
  const server = await start(t, { tls: { certFile: c.serverCert, keyFile: c.serverKey } });
  const output = await new Promise<string>((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${server.port}`, '-CAfile', c.caFile, '-ign_eof', '-quiet'],
      { timeout: 20_000 },
      (_e, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
    );
    child.stdin?.end('GET /ping HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n');
  });
  t.regex(output, /HTTP\/1\.1 200 OK/);
  t.regex(output, /pong/);
});

test.serial('clients that reset the connection right after their request leave no stack trace on stderr', async (t) => {
  const server = await start(t);
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  t.teardown(() => {
    console.error = original;
  });
  for (let i = 0; i < 200; i++) {
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    await new Promise((resolve) => socket.write('GET /ping HTTP/1.1\r\nHost: x\r\n\r\n', resolve));
    socket.resetAndDestroy();
    await once(socket, 'close');
  }
  // The last answers are written (and fail) a moment after the last reset.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.deepEqual(
    printed.filter((line) => /ECONNRESET|EPIPE/.test(line)),
    [],
  );
});
