// A new file made durable before anyone names it: the data and its size synced by the write itself (O_DSYNC,
// POSIX synchronized I/O data integrity, without a round trip of its own through libuv's threads), then the
// entries of its folder and of every folder above it up to `root`. A crash never leaves a named file that is not
// all there, and a crash mid-write leaves at worst a partial file under a name nobody has recorded. The name must
// be new (O_EXCL): a file already there is another writer's and stays as it was.
//
// Every folder up to `root` is synced, not only those this call's mkdir made: a second writer into a folder that
// a first writer has just made (a render and an upload of the same report) must not name its file before the
// entry of that folder is durable, and it cannot know whether the first writer's sync of it has finished. A
// folder with nothing unsynced costs little, and DirectorySyncs shares the syncs of one folder between the
// writers of a thread.
import { constants } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DirectorySyncs } from './directory-syncs.ts';

const createSynced = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;

/** The folder syncs of this thread's writers (one set per thread: a thread shares a promise with no other). */
const threadSyncs = new DirectorySyncs();

/** Creates `root/relative` with `bytes`; resolves once it and the folders up to `root` are durable. */
export async function createDurably(
  root: string,
  relative: string,
  bytes: Uint8Array,
  syncs = threadSyncs,
): Promise<void> {
  // Resolved, so the walk up from the file's folder meets it exactly (a trailing slash or a relative root would
  // never compare equal, and the walk would climb past it).
  const base = path.resolve(root);
  const target = path.resolve(base, relative);
  const directory = path.dirname(target);
  const inside = path.relative(base, directory);
  if (inside.startsWith('..') || path.isAbsolute(inside)) throw new Error(`${relative} is not inside ${root}`);
  await mkdir(directory, { recursive: true });
  try {
    await writeFile(target, bytes, { flag: createSynced });
  } catch (error) {
    // EEXIST: the name is another file's, not ours to remove.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await rm(target, { force: true });
    throw error;
  }
  const directories = [directory];
  for (let at = directory; at !== base; ) {
    at = path.dirname(at);
    directories.push(at);
  }
  await Promise.all(directories.map((d) => syncs.sync(d)));
}
