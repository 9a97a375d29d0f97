// A rename or a new file is durable only once the directory entry is flushed too (ext4/xfs journal renames
// lazily): every writer that renames into place before acknowledging syncs the directory with this.
import { open } from 'node:fs/promises';

export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
