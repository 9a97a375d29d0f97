// runtime/compile-cache.ts turns on Node's compile cache for the hub and hands its folder to the worker threads
// through the environment (the only way they read it); NODE_DISABLE_COMPILE_CACHE still turns it off.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { repoRoot, tempDir } from '../support/hub-process.ts';

function probe(env: NodeJS.ProcessEnv): { env: string | null; dir: string | null } {
  const script = `await import(${JSON.stringify(path.join(repoRoot, 'runtime', 'compile-cache.ts'))});
const { getCompileCacheDir } = await import('node:module');
console.log(JSON.stringify({ env: process.env.NODE_COMPILE_CACHE ?? null, dir: getCompileCacheDir() ?? null }));`;
  const { NODE_COMPILE_CACHE: _cache, NODE_DISABLE_COMPILE_CACHE: _off, ...rest } = process.env;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...rest, ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as { env: string | null; dir: string | null };
}

test('the cache is on, in the folder the environment names, and the threads are told where', async (t) => {
  const folder = await tempDir('compile-cache');
  const named = probe({ NODE_COMPILE_CACHE: folder });
  t.truthy(named.dir?.startsWith(folder), 'Node caches under the named folder');
  t.is(named.env, folder);
  const byDefault = probe({});
  t.truthy(byDefault.dir, 'on without any setting');
  t.truthy(byDefault.dir?.startsWith(byDefault.env ?? '\0'), 'the threads inherit the folder the hub uses');
});

test('NODE_DISABLE_COMPILE_CACHE turns it off', (t) => {
  t.deepEqual(probe({ NODE_DISABLE_COMPILE_CACHE: '1' }), { env: null, dir: null });
});
