// A new file made durable before anyone names it: the data and its size synced by the write itself (O_DSYNC,
// POSIX synchronized I/O data integrity, without a round trip of its own through libuv's threads), then the
// folder's entry, then the entries of the folders this call made. A crash never leaves a named file that is not
// all there, and a crash mid-write leaves at worst a partial file under a name nobody has recorded. The name must
// be new (O_EXCL): a file already there is another writer's and stays as it was. Folder syncs go through
// DirectorySyncs, so writers creating files in the same folders at once share them.
import { constants } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DirectorySyncs } from './directory-syncs.ts';

const createSynced = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;

/** The folder syncs of this thread's writers (one set per thread: a thread shares a promise with no other). */
const threadSyncs = new DirectorySyncs();

export async function createDurably(target: string, bytes: Uint8Array, syncs = threadSyncs): Promise<void> {
  const directory = path.dirname(target);
  const firstCreated = await mkdir(directory, { recursive: true });
  try {
    await writeFile(target, bytes, { flag: createSynced });
  } catch (error) {
    // EEXIST: the name is another file's, not ours to remove.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await rm(target, { force: true });
    throw error;
  }
  // A folder made here is durable only once its parent's entry is: it would otherwise be lost with the file
  // after a power cut, while a record names the file.
  const directories = [directory];
  if (firstCreated !== undefined)
    for (let made = directory; made.startsWith(firstCreated); made = path.dirname(made))
      directories.push(path.dirname(made));
  await Promise.all(directories.map((d) => syncs.sync(d)));
}
