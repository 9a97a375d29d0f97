// The FTPS server's certificate: the configured PEM pair, or a self-signed one made with the openssl command on
// first start and kept under the data dir (key mode 0600). Node can make the key but not a certificate, and a
// generated certificate is for trying the hub out: clients must be told to trust it (curl --cacert, lftp
// ssl:ca-file); a site configures one its clients already trust.
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export async function generatedCertificate(dataDir: string, host: string): Promise<CertificateFiles> {
  const dir = path.join(dataDir, 'upload');
  const files = { certFile: path.join(dir, 'ftps-cert.pem'), keyFile: path.join(dir, 'ftps-key.pem') };
  if (await exists(files.certFile)) return files;
  await mkdir(dir, { recursive: true });
  const ip = /^[\d.]+$|:/.test(host);
  const san = ip ? `IP:${host}` : `DNS:${host}`;
  try {
    await run(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650'].concat([
        '-subj',
        `/CN=${host}`,
        '-addext',
        `subjectAltName=${san}`,
        '-keyout',
        files.keyFile,
        '-out',
        files.certFile,
      ]),
      { env: { ...process.env, OPENSSL_CONF: '/dev/null' }, timeout: 30_000 },
    );
  } catch (error) {
    throw new Error(`cannot make a certificate with openssl (configure upload.ftps.tls instead): ${String(error)}`, {
      cause: error,
    });
  }
  // openssl writes the key with the umask's mode; a private key is the owner's alone.
  await chmod(files.keyFile, 0o600);
  await readFile(files.certFile);
  return files;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
