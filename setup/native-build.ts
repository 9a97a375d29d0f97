// Building a native binding at install for the Node that runs the hub (the `node` devDependency), from the headers
// that package carries, with the node-gyp npm brings: nothing is downloaded. Shared by the root postinstall's
// scripts (ssh-crypto-binding.ts, malloc-trim-binding.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..');
export const requireFromRoot = createRequire(path.join(root, 'package.json'));

/** Tried in a child process: a library that failed to load may stay mapped in this one under its path. */
export function loads(binding: string): boolean {
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(binding)})`], { stdio: 'ignore' });
  return probe.status === 0;
}

/** A folder with include/node/node.h for the running Node. */
function headers(): string | undefined {
  const candidates = [path.dirname(path.dirname(process.execPath))];
  try {
    const nodePackage = createRequire(requireFromRoot.resolve('node/package.json'));
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

/** `node-gyp rebuild` in `dir` for the running Node; undefined when built, else why not. */
export function rebuild(dir: string, extraArgs: readonly string[] = []): string | undefined {
  const nodedir = headers();
  const gyp = nodeGyp();
  if (nodedir === undefined) return 'no Node headers';
  if (gyp === undefined) return 'no node-gyp';
  const built = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, ...extraArgs, '--loglevel=warn'], {
    cwd: dir,
    // npm passes its own nodedir setting (Debian's says /usr, the system Node's headers), which node-gyp prefers.
    env: { ...process.env, npm_config_nodedir: nodedir },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 300_000,
  });
  return built.status === 0 ? undefined : `node-gyp exited with ${built.status ?? built.signal}`;
}
