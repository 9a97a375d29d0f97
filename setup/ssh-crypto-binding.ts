// ssh2 (the SFTP listener's SSH transport) ships an optional native binding for its packet ciphers and builds it
// in its own install script. That script runs under whichever `node` npm finds first, which on a machine with an
// older system Node is not the Node 24 of the `node` devDependency that runs the hub; the binding then fails to
// load and ssh2 silently falls back to JavaScript ciphers that create a new OpenSSL cipher for every packet (in
// the upload benchmark about a third of the hub's CPU per file). Run as the root postinstall, i.e. under the Node
// that `npm start` uses, this rebuilds the binding for that Node from the headers the `node` package carries, so
// nothing is downloaded. Failing to build is not fatal: uploads still work, only slower, and it says so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(path.join(root, 'package.json'));

/** Tried in a child process: a library that failed to load may stay mapped in this one under its path. */
function loads(binding: string): boolean {
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(binding)})`], { stdio: 'ignore' });
  return probe.status === 0;
}

/** A folder with include/node/node.h for the running Node. */
function headers(): string | undefined {
  const candidates = [path.dirname(path.dirname(process.execPath))];
  try {
    const nodePackage = createRequire(require.resolve('node/package.json'));
    candidates.push(path.dirname(nodePackage.resolve(`node-${process.platform}-${process.arch}/package.json`)));
  } catch {
    // No `node` package: only the running Node's own prefix can have them.
  }
  return candidates.find((dir) => existsSync(path.join(dir, 'include', 'node', 'node.h')));
}

/** npm tells its scripts where its node-gyp is. */
function nodeGyp(): string | undefined {
  const fromNpm = process.env['npm_config_node_gyp'];
  if (fromNpm !== undefined && existsSync(fromNpm)) return fromNpm;
  const beside = path.join(path.dirname(process.env['npm_execpath'] ?? ''), '..', 'node_modules', 'node-gyp');
  const script = path.join(beside, 'bin', 'node-gyp.js');
  return existsSync(script) ? script : undefined;
}

function main(): string {
  let crypto: string;
  try {
    crypto = path.join(path.dirname(require.resolve('ssh2/package.json')), 'lib', 'protocol', 'crypto');
  } catch {
    return 'ssh2 is not installed; nothing to build';
  }
  const binding = path.join(crypto, 'build', 'Release', 'sshcrypto.node');
  if (loads(binding)) return `ssh2's native ciphers load in Node ${process.version}`;
  const nodedir = headers();
  const gyp = nodeGyp();
  if (nodedir === undefined || gyp === undefined)
    return `not rebuilt (${nodedir === undefined ? 'no Node headers' : 'no node-gyp'}): ssh2 uses its JavaScript ciphers`;
  const openssl = /^\d+/.exec(process.versions.openssl)?.[0] ?? '3';
  const built = spawnSync(
    process.execPath,
    [gyp, 'rebuild', `--nodedir=${nodedir}`, `--real_openssl_major=${openssl}`, '--loglevel=warn'],
    // npm passes its own nodedir setting (Debian's says /usr, the system Node's headers), which node-gyp prefers.
    {
      cwd: crypto,
      env: { ...process.env, npm_config_nodedir: nodedir },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    },
  );
  if (built.status !== 0 || !loads(binding))
    return `could not build ssh2's native ciphers for Node ${process.version}: ssh2 uses its JavaScript ciphers`;
  return `built ssh2's native ciphers for Node ${process.version}`;
}

console.log(`setup/ssh-crypto-binding: ${main()}`);
