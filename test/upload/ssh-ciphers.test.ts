// The install builds ssh2's native cipher binding for the Node that runs the hub (setup/ssh-crypto-binding.ts).
// Before it did, npm's install script built it for the system's older Node, the binding failed to load under
// Node 24 and ssh2 fell back to JavaScript ciphers without a word; this keeps that from coming back unnoticed.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { nativeSshCiphers } from '../../upload/ssh-ciphers.ts';

test('ssh2 runs its packet ciphers in its native binding under the Node that runs the hub', (t) => {
  t.true(nativeSshCiphers(), `ssh2's binding does not load in Node ${process.version}: run npm run postinstall`);
});

test('the setup script finds the binding loadable and leaves it alone', (t) => {
  const script = path.resolve(import.meta.dirname, '../../setup/ssh-crypto-binding.ts');
  const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 });
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /native ciphers load in Node v\d+/);
});
