// The MLLP destination over TLS against the hub's own MLLP source with `tls` (runtime/listener.ts underneath):
// the peer's certificate and host name are verified, a wrong CA or name is a retry that names the TLS failure
// (so the message stays at the head of its queue), and a listener that asks for a client certificate gets one.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { mllpDestinationType } from '../../hl7/mllp-destination.ts';
import { type MllpSource, mllpSourceType } from '../../hl7/mllp-source.ts';
import { createLogger } from '../../runtime/log.ts';
import { ValidationError } from '../../runtime/validate.ts';
import { makeCertificates } from '../support/certificates.ts';
import { freePort } from '../support/hub-process.ts';
import { FileStoringContext, fixture } from './mllp-peer.ts';

const certificates = makeCertificates();
const context = { channelId: 'c1', destinationName: 'ehr', log: createLogger({ test: 'mllp-destination-tls' }) };

/** The hub's MLLP source on TLS; with `clientCa`, a client must present a certificate that CA signed. */
async function tlsSource(t: import('ava').ExecutionContext, clientCa?: string) {
  const c = await certificates;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-hl7-tls-'));
  const stored = new FileStoringContext(path.join(dir, 'store.jsonl'));
  const tls = { certFile: c.serverCert, keyFile: c.serverKey, ...(clientCa ? { caFile: clientCa } : {}) };
  const settings = mllpSourceType.parseSettings({ host: '127.0.0.1', port: 0, tls }, 'source.settings');
  const source = mllpSourceType.create(settings, stored) as MllpSource;
  await source.start();
  t.teardown(() => source.stop());
  return { source, stored };
}

/** `openssl s_server` with the hub CA's server certificate: a TLS peer nobody here wrote, for refused handshakes. */
async function opensslServer(t: import('ava').ExecutionContext): Promise<number> {
  const c = await certificates;
  const port = await freePort();
  const args = ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', c.serverCert, '-key', c.serverKey];
  const server = spawn('openssl', [...args, '-naccept', '10'], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => void server.kill());
  await new Promise<void>((resolve, reject) => {
    server.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ACCEPT') && resolve());
    server.once('exit', (code) => reject(new Error(`openssl s_server exited with ${code}`)));
  });
  return port;
}

function destinationTo(t: import('ava').ExecutionContext, port: number, tls: Record<string, string>) {
  const settings = { host: '127.0.0.1', port, ackTimeoutMs: 5000, connectTimeoutMs: 5000, tls };
  const destination = mllpDestinationType.create(mllpDestinationType.parseSettings(settings, 'd'), context);
  t.teardown(() => destination.stop());
  return destination;
}

async function message(id: string) {
  const content = (await fixture('orm-o01.hl7')).toString('utf8').replace(/\|MSG[A-Z0-9]+\|/, `|${id}|`);
  return { messageId: id, channelId: 'c1', destinationName: 'ehr', content, dataType: 'hl7v2', attempt: 1 };
}

test('the MLLP destination delivers over TLS to an MLLP listener whose certificate its CA signed', async (t) => {
  const c = await certificates;
  const { source, stored } = await tlsSource(t);
  const destination = destinationTo(t, source.port, { caFile: c.caFile });
  const result = await destination.send(await message('T1'));
  t.is(result.status, 'sent');
  t.regex(result.response ?? '', /MSA\|AA\|T1/);
  t.is(stored.messages.length, 1);
});

test('a listener certificate from another CA is a retry naming the TLS failure, and nothing is delivered', async (t) => {
  const c = await certificates;
  const port = await opensslServer(t);
  const wrong = destinationTo(t, port, { caFile: path.join(c.dir, 'other-ca.crt') });
  const refused = await wrong.send(await message('W1'));
  t.is(refused.status, 'retry');
  t.regex(refused.status === 'retry' ? refused.error : '', /could not connect .*TLS failed: .*certificate/);
});

test("the hub's MLLP source refused for its certificate stores nothing, still stops, and takes the retry", async (t) => {
  const c = await certificates;
  const { source, stored } = await tlsSource(t);
  const wrong = destinationTo(t, source.port, { caFile: path.join(c.dir, 'other-ca.crt') });
  t.is((await wrong.send(await message('W2'))).status, 'retry');
  t.is(stored.messages.length, 0);
  const right = destinationTo(t, source.port, { caFile: c.caFile });
  t.is((await right.send(await message('W2'))).status, 'sent');
  t.is(stored.messages.length, 1);
  // teardown stops the source: a dropped handshake must not hold its close() (runtime/listener.ts).
});

test('a listener certificate for another host name is refused unless servername names it', async (t) => {
  const c = await certificates;
  const port = await opensslServer(t);
  const other = destinationTo(t, port, { caFile: c.caFile, servername: 'ehr.example.org' });
  const refused = await other.send(await message('N1'));
  t.is(refused.status, 'retry');
  t.regex(refused.status === 'retry' ? refused.error : '', /TLS failed: .*ehr\.example\.org/i);
  const { source } = await tlsSource(t);
  const named = destinationTo(t, source.port, { caFile: c.caFile, servername: 'localhost' });
  t.is((await named.send(await message('N2'))).status, 'sent');
});

test('a listener that requires a client certificate accepts the right one and refuses none or a stranger', async (t) => {
  const c = await certificates;
  const { source, stored } = await tlsSource(t, c.caFile);
  const without = await destinationTo(t, source.port, { caFile: c.caFile }).send(await message('M1'));
  t.is(without.status, 'retry');
  t.regex(without.status === 'retry' ? without.error : '', /TLS failed|closed/);
  const stranger = destinationTo(t, source.port, {
    caFile: c.caFile,
    certFile: c.strangerCert,
    keyFile: c.strangerKey,
  });
  t.is((await stranger.send(await message('M2'))).status, 'retry');
  t.is(stored.messages.length, 0);
  const client = destinationTo(t, source.port, { caFile: c.caFile, certFile: c.clientCert, keyFile: c.clientKey });
  t.is((await client.send(await message('M3'))).status, 'sent');
  t.is(stored.messages.length, 1);
});

test('an unreadable CA file is a retry naming the file, and TLS settings are checked with the path and reason', async (t) => {
  const { source } = await tlsSource(t);
  const missing = await destinationTo(t, source.port, { caFile: '/nonexistent/ca.crt' }).send(await message('F1'));
  t.is(missing.status, 'retry');
  t.regex(
    missing.status === 'retry' ? missing.error : '',
    /cannot read the TLS CA file \/nonexistent\/ca\.crt \(ENOENT\)/,
  );
  const parse = (tls: unknown) => () => mllpDestinationType.parseSettings({ host: 'h', port: 1, tls }, 'dest');
  t.is(
    t.throws(parse({ certFile: 'c.pem' }), { instanceOf: ValidationError })?.message,
    'dest.tls.keyFile: required: the PEM private key file',
  );
  t.regex(t.throws(parse({ caFile: 'a', ca: 'b' }))?.message ?? '', /^dest\.tls/);
  t.regex(t.throws(parse({ caFile: 3 }))?.message ?? '', /^dest\.tls\.caFile/);
});
