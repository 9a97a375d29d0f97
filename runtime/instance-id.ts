// A stable name for this hub installation, kept in its data dir: queue leases carry it, so a restarted hub
// knows which leases its own crashed predecessor left behind (channels/lease-owner.ts).
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function instanceId(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'instance-id');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const id = randomUUID();
    try {
      await writeFile(file, `${id}\n`, { flag: 'wx' });
      return id;
    } catch {
      // Another process of this installation wrote it first; use theirs.
      return (await readFile(file, 'utf8')).trim();
    }
  }
}
