// Whether ssh2 runs its packet ciphers in its native binding or in JavaScript. The binding is built at install
// (setup/ssh-crypto-binding.ts) for the Node that runs the hub; when it does not load, SFTP still works but costs
// the hub markedly more CPU per file, so the listener says so at start.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function nativeSshCiphers(): boolean {
  // ssh2 tells it only from this module of its own; it has no `exports` map, so the path is reachable.
  const crypto = require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: unknown };
  return crypto.bindingAvailable === true;
}
