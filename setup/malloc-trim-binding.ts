// Builds setup/malloc-trim (one C function: glibc's malloc_trim) for the Node that runs the hub; the hub calls it
// when a worker thread has ended for idleness (runtime/malloc-trim.ts). Failing to build is not fatal: the hub
// runs the same, only holding on to memory it has freed, and says so here.
import path from 'node:path';
import { loads, rebuild, root } from './native-build.ts';

function main(): string {
  if (process.platform !== 'linux') return 'not Linux: nothing to build (malloc_trim is glibc)';
  const dir = path.join(root, 'setup', 'malloc-trim');
  const binding = path.join(dir, 'build', 'Release', 'malloc_trim.node');
  if (loads(binding)) return `loads in Node ${process.version}`;
  const failed = rebuild(dir);
  if (failed !== undefined || !loads(binding))
    return `could not be built for Node ${process.version} (${failed ?? 'it does not load'}): freed memory stays with the process`;
  return `built for Node ${process.version}`;
}

console.log(`setup/malloc-trim-binding: ${main()}`);
