// What this process's file descriptors point at (Linux /proc): a test's check that a file or folder was closed,
// or that a removed one is not still held (it shows as '<path> (deleted)').
import { readdir, readlink } from 'node:fs/promises';

export async function openPaths(): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  // A descriptor may close between the listing and its readlink.
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target !== '');
}
