// The hub's C-STORE SCU over TLS against dcmtk's storescp built with OpenSSL (`+tls KEY CERT`, PS3.15 B.9): a
// study arrives when storescp's certificate is signed by the CA in the SCU's `tls.caFile`; a certificate the SCU
// cannot verify leaves every file not-sent with the TLS failure named; a storescp that requires a client
// certificate (`-rc +cf CA`) refuses the SCU without one and stores the study when the SCU presents it.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { type ScuPeer, sendFiles } from '../../dicom/scu.ts';
import { dicomScuDestinationType } from '../../dicom/scu-destination.ts';
import type { ExamService } from '../../exams/service.ts';
import { parseFacility } from '../../exams/facility.ts';
import { setLogLevel } from '../../runtime/log.ts';
import type { SenderTlsSettings } from '../../runtime/tls-sender.ts';
import { makeCertificates } from '../support/certificates.ts';
import { freePort } from '../support/hub-process.ts';
import { spec, writeInstance } from './make-instance.ts';
import { dcmtkEnv, missingBinaries, removedAfterTests, stopChild, waitForPort } from './peers.ts';

setLogLevel('error');
const tempDir = removedAfterTests(test);
const certificates = makeCertificates();

test.before('dcmtk is installed (CI: apt-get install -y dcmtk)', (t) => {
  const missing = missingBinaries(['storescp']);
  if (missing.length > 0) t.fail(`peer binaries missing: ${missing.join(', ')}; install with apt-get install -y dcmtk`);
  else t.pass();
});

/** storescp over TLS with the hub CA's server certificate; `clientCa` makes a client certificate mandatory. */
async function tlsStorescp(t: import('ava').ExecutionContext, clientCa?: string) {
  const c = await certificates;
  const out = await tempDir('dicom-scu-tls');
  const port = await freePort();
  const verify = clientCa === undefined ? ['-ic'] : ['-rc', '+cf', clientCa];
  const args = ['+tls', c.serverKey, c.serverCert, ...verify, '-aet', 'TLSSCP', '-od', out, String(port)];
  const child = spawn('storescp', args, { env: dcmtkEnv, stdio: 'ignore' });
  t.teardown(() => stopChild(child));
  await waitForPort(port, 'storescp +tls');
  return { port, out };
}

async function study(): Promise<string[]> {
  const dir = await tempDir('dicom-scu-tls-src');
  const base = spec();
  const files = [path.join(dir, 'a.dcm'), path.join(dir, 'b.dcm')];
  for (const file of files) await writeInstance(file, { ...spec(), studyInstanceUid: base.studyInstanceUid });
  return files;
}

function peer(port: number, tls: SenderTlsSettings): ScuPeer {
  return { host: '127.0.0.1', port, calledAe: 'TLSSCP', callingAe: 'RSO_HUB', tls };
}

test('the SCU sends a study over TLS to storescp whose certificate its CA signed', async (t) => {
  const c = await certificates;
  const scp = await tlsStorescp(t);
  const outcomes = await sendFiles(peer(scp.port, { caFile: c.caFile }), await study());
  t.deepEqual(
    outcomes.map((o) => o.state),
    ['success', 'success'],
  );
  t.is((await readdir(scp.out)).length, 2);
});

test('a storescp certificate the SCU cannot verify leaves the study not-sent, naming the TLS failure', async (t) => {
  const c = await certificates;
  const scp = await tlsStorescp(t);
  const outcomes = await sendFiles(peer(scp.port, { caFile: path.join(c.dir, 'other-ca.crt') }), await study());
  t.deepEqual(
    outcomes.map((o) => o.state),
    ['not-sent', 'not-sent'],
  );
  t.regex(outcomes[0]?.reason ?? '', /TLS failed: .*certificate/);
  t.is((await readdir(scp.out)).length, 0);
});

test('a storescp that requires a client certificate refuses the SCU without one and stores the study with it', async (t) => {
  const c = await certificates;
  const scp = await tlsStorescp(t, c.caFile);
  const refused = await sendFiles(peer(scp.port, { caFile: c.caFile }), await study());
  t.deepEqual(
    refused.map((o) => o.state),
    ['not-sent', 'not-sent'],
  );
  const stranger = { caFile: c.caFile, certFile: c.strangerCert, keyFile: c.strangerKey };
  t.deepEqual(
    (await sendFiles(peer(scp.port, stranger), await study())).map((o) => o.state),
    ['not-sent', 'not-sent'],
  );
  t.is((await readdir(scp.out)).length, 0);
  const client = { caFile: c.caFile, certFile: c.clientCert, keyFile: c.clientKey };
  const stored = await sendFiles(peer(scp.port, client), await study());
  t.deepEqual(
    stored.map((o) => o.state),
    ['success', 'success'],
  );
  t.is((await readdir(scp.out)).length, 2);
});

test('tls on a PACS target and on a facility radiologist PACS is checked with the path and reason', (t) => {
  const type = dicomScuDestinationType({ exams: {} as ExamService, defaultCallingAe: 'RSO_HUB' });
  const target = { aeTitle: 'PACS', host: 'pacs.example.org', port: 11112 };
  const ok = type.parseSettings({ target: { ...target, tls: { caFile: '/etc/ca.pem', servername: 'pacs' } } }, 'd');
  t.deepEqual(typeof ok.target === 'object' ? ok.target.tls : undefined, { caFile: '/etc/ca.pem', servername: 'pacs' });
  t.throws(() => type.parseSettings({ target: { ...target, tls: { keyFile: 'k.pem' } } }, 'd'), {
    message: 'd.target.tls.certFile: required: the PEM certificate file',
  });
  const facility = { code: 'F', name: 'F', radiologistPacs: { ...target, tls: { caFile: 'a', ca: 'b' } } };
  t.throws(() => parseFacility(facility, 'facilities[0]'), { message: /^facilities\[0\]\.radiologistPacs\.tls/ });
  const good = parseFacility({ ...facility, radiologistPacs: { ...target, tls: { caFile: 'a' } } });
  t.deepEqual(good.radiologistPacs?.tls, { caFile: 'a' });
});
