// Test certificates made with `openssl req -x509` in a temp dir: a CA, a server certificate for 127.0.0.1 and
// a client certificate it signed, and a second, unrelated CA with its own client (the "wrong" certificate).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './hub-process.ts';

const run = promisify(execFile);

export interface TestCertificates {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by another CA: a client certificate the hub must refuse. */
  strangerCert: string;
  strangerKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

async function signed(dir: string, name: string, ca: string, extra: string[]): Promise<void> {
  await openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    ...extra,
  ]);
}

export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await tempDir('tls');
  for (const ca of ['ca', 'other-ca']) {
    await openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
    ]);
  }
  const ext = path.join(dir, 'server.ext');
  await run('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ${ext}`]);
  await signed(dir, 'server', 'ca', ['-extfile', ext]);
  await signed(dir, 'client', 'ca', []);
  await signed(dir, 'stranger', 'other-ca', []);
  const at = (name: string): string => path.join(dir, name);
  return {
    dir,
    caFile: at('ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    strangerCert: at('stranger.crt'),
    strangerKey: at('stranger.key'),
  };
}
