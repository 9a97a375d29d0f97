// The one listener every protocol opens (runtime/listener.ts), against real loopback sockets and openssl:
// each limit closes the connection it should and no other, a listen failure is one ListenError, and TLS asks
// for TLS 1.2+ and, with a CA, refuses a client certificate that CA did not sign.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import test from 'ava';
import { renderMetrics, counter } from '../../http/metrics.ts';
import { Listener, ListenError, type ConnectionLimits, type TlsSettings } from '../../runtime/listener.ts';
import { createLogger } from '../../runtime/log.ts';
import { makeCertificates, type TestCertificates } from '../support/certificates.ts';

const log = createLogger({ test: 'listener' });
const hits = counter(
  'hub_listener_limit_hits_total',
  'Connections closed or refused by a listener limit, by listener and limit',
);
const generous: ConnectionLimits = { maxConnections: 100, maxConnectionsPerAddress: 100, idleTimeoutMs: 60_000 };

/** An echo listener: what a protocol would be, minus the protocol. */
async function echo(
  t: import('ava').ExecutionContext,
  kind: string,
  limits: Partial<ConnectionLimits> = {},
  tls?: TlsSettings,
): Promise<Listener> {
  const listener = new Listener({
    kind,
    host: '127.0.0.1',
    port: 0,
    limits: { ...generous, ...limits },
    log,
    counter: hits,
    ...(tls ? { tls } : {}),
    // As every protocol owner does (MLLP, DICOM, SFTP): a peer that resets the connection (a test closing a socket
    // with an echo still unread) errors this socket, and an error with no listener would end the test process.
    onConnection: (socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
    },
  });
  await listener.start();
  t.teardown(() => listener.stop());
  return listener;
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  // A refused connection may be reset before the test looks at it; close is what the tests wait for.
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

function closed(socket: net.Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

async function echoes(socket: net.Socket, text: string): Promise<string> {
  socket.write(text);
  // A socket the listener refused errors instead of answering: no echo, and no unhandled rejection.
  const [chunk] = (await once(socket, 'data').catch(() => [Buffer.alloc(0)])) as [Buffer];
  return chunk.toString();
}

function hitCount(kind: string, limit: string): number {
  const line = renderMetrics()
    .split('\n')
    .find((l) => l.startsWith(`hub_listener_limit_hits_total{listener="${kind}",limit="${limit}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

test('a connection past maxConnectionsPerAddress is closed and the ones before it keep working', async (t) => {
  const listener = await echo(t, 'per-address', { maxConnectionsPerAddress: 2 });
  const first = await connect(listener.port);
  const second = await connect(listener.port);
  t.is(await echoes(first, 'a'), 'a');
  const third = await connect(listener.port);
  third.on('error', () => undefined);
  await closed(third);
  t.is(await echoes(first, 'b'), 'b');
  t.is(await echoes(second, 'c'), 'c');
  t.is(hitCount('per-address', 'connections-per-address'), 1);
  first.destroy();
  await closed(first);
  // A slot freed is a slot again (once the listener has seen the close too, a moment after the client).
  let fourth = await connect(listener.port);
  while (await Promise.race([closed(fourth).then(() => true), echoes(fourth, 'd').then((echo) => echo !== 'd')])) {
    fourth.destroy();
    fourth = await connect(listener.port);
  }
  t.false(fourth.destroyed);
  for (const s of [second, fourth]) s.destroy();
});

test('a connection past maxConnections is closed and counted', async (t) => {
  const listener = await echo(t, 'total', { maxConnections: 1 });
  const first = await connect(listener.port);
  t.is(await echoes(first, 'a'), 'a');
  const second = await connect(listener.port);
  second.on('error', () => undefined);
  await closed(second);
  t.is(await echoes(first, 'b'), 'b');
  t.is(hitCount('total', 'connections'), 1);
  first.destroy();
});

test('an idle connection is closed after idleTimeoutMs while a talking one stays open', async (t) => {
  const listener = await echo(t, 'idle', { idleTimeoutMs: 1000 });
  const quiet = await connect(listener.port);
  const talking = await connect(listener.port);
  const quietClosed = closed(quiet);
  let open = true;
  void closed(talking).then(() => (open = false));
  // Talk more often than the idle time until the quiet one is gone.
  const ticker = setInterval(() => talking.write('.'), 200);
  await quietClosed;
  clearInterval(ticker);
  t.true(open);
  t.is(hitCount('idle', 'idle-timeout'), 1);
  talking.destroy();
});

test('a port in use is a ListenError naming the address and the reason', async (t) => {
  const listener = await echo(t, 'taken');
  const second = new Listener({ kind: 'taken', host: '127.0.0.1', port: listener.port, limits: generous, log });
  const error = await t.throwsAsync(second.start(), { instanceOf: ListenError });
  t.is(error?.message, `127.0.0.1:${listener.port}: the port is already in use`);
  t.is(error?.setting, 'port');
});

test('a TLS key file that is missing is a ListenError naming the file', async (t) => {
  const listener = new Listener({
    kind: 'tls',
    host: '127.0.0.1',
    port: 0,
    limits: generous,
    log,
    tls: { certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' },
  });
  const error = await t.throwsAsync(listener.start(), { instanceOf: ListenError });
  t.regex(error?.message ?? '', /cannot read the TLS certificate file \/nonexistent\/cert\.pem \(ENOENT\)/);
  t.is(error?.setting, 'tls');
});

interface SClient {
  code: number;
  output: string;
}

/** openssl s_client: connects, sends `ping`, reports what it saw. */
function sClient(port: number, args: string[]): Promise<SClient> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-ign_eof', ...args],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          output: `${stdout}\n${stderr}`,
        });
      },
    );
    child.stdin?.end('ping\n');
  });
}

let certificates: TestCertificates | undefined;
async function certs(): Promise<TestCertificates> {
  certificates ??= await makeCertificates();
  return certificates;
}

test('over TLS the listener speaks TLS 1.2 or newer and refuses TLS 1.1', async (t) => {
  const c = await certs();
  const listener = await echo(t, 'tls', {}, { certFile: c.serverCert, keyFile: c.serverKey });
  const modern = await sClient(listener.port, ['-CAfile', c.caFile, '-verify_return_error']);
  t.regex(modern.output, /Verify return code: 0 \(ok\)/);
  t.regex(modern.output, /ping/, 'the echo came back through TLS');
  const old = await sClient(listener.port, ['-tls1_1', '-CAfile', c.caFile]);
  t.notRegex(old.output, /Verify return code: 0 \(ok\)[\s\S]*ping/);
});

test("with a CA the listener accepts its client certificate and refuses another CA's", async (t) => {
  const c = await certs();
  const listener = await echo(t, 'mtls', {}, { certFile: c.serverCert, keyFile: c.serverKey, caFile: c.caFile });
  const good = await sClient(listener.port, ['-CAfile', c.caFile, '-cert', c.clientCert, '-key', c.clientKey]);
  t.regex(good.output, /ping/);
  const stranger = await sClient(listener.port, ['-CAfile', c.caFile, '-cert', c.strangerCert, '-key', c.strangerKey]);
  t.notRegex(stranger.output, /\nping/);
  const none = await sClient(listener.port, ['-CAfile', c.caFile]);
  t.notRegex(none.output, /\nping/);
  t.true(hitCount('mtls', 'tls-handshake') >= 1);
});
