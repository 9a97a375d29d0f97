// A stable name for this hub installation, kept in its data dir: queue leases carry it, so a restarted hub
// knows which leases its own crashed predecessor left behind (channels/lease-owner.ts).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { readOrCreate } from './file-once.ts';

export function instanceId(dataDir: string): Promise<string> {
  return readOrCreate(path.join(dataDir, 'instance-id'), () => randomUUID(), 0o644);
}
