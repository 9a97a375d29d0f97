// ssh2 (the SFTP listener's SSH transport) ships an optional native binding for its packet ciphers and builds it
// in its own install script. That script runs under whichever `node` npm finds first, which on a machine with an
// older system Node is not the Node 24 of the `node` devDependency that runs the hub; the binding then fails to
// load and ssh2 silently falls back to JavaScript ciphers that create a new OpenSSL cipher for every packet (in
// the upload benchmark about a third of the hub's CPU per file). Run as the root postinstall, i.e. under the Node
// that `npm start` uses, this rebuilds the binding for that Node. Failing to build is not fatal: uploads still
// work, only slower, and it says so.
import path from 'node:path';
import { loads, rebuild, requireFromRoot } from './native-build.ts';

function main(): string {
  let crypto: string;
  try {
    crypto = path.join(path.dirname(requireFromRoot.resolve('ssh2/package.json')), 'lib', 'protocol', 'crypto');
  } catch {
    return 'ssh2 is not installed; nothing to build';
  }
  const binding = path.join(crypto, 'build', 'Release', 'sshcrypto.node');
  if (loads(binding)) return `ssh2's native ciphers load in Node ${process.version}`;
  const openssl = /^\d+/.exec(process.versions.openssl)?.[0] ?? '3';
  const failed = rebuild(crypto, [`--real_openssl_major=${openssl}`]);
  if (failed !== undefined || !loads(binding))
    return `could not build ssh2's native ciphers for Node ${process.version} (${failed ?? 'it does not load'}): ssh2 uses its JavaScript ciphers`;
  return `built ssh2's native ciphers for Node ${process.version}`;
}

console.log(`setup/ssh-crypto-binding: ${main()}`);
