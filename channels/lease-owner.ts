// Who holds a queue lease: `<instance>:<pid>:<random>`. The instance names one hub installation (its data dir),
// so after a crash the restarted process can recognise leases left by earlier processes of the same
// installation whose pid no longer runs, and take them back at once instead of waiting for them to expire.
// Leases of other installations (other machines on one MongoDB) are never touched: only their expiry frees them.
import { randomUUID } from 'node:crypto';

export function leaseOwner(instance: string): string {
  return `${instance}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid exists but belongs to someone else – it runs, so its leases stand.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owners in `owners` that were earlier processes of `instance` and have exited. */
export function deadOwnersOf(instance: string, owners: readonly unknown[]): string[] {
  const prefix = `${instance}:`;
  return owners.filter((owner): owner is string => {
    if (typeof owner !== 'string' || !owner.startsWith(prefix)) return false;
    const pid = Number(owner.slice(prefix.length).split(':')[0]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isRunning(pid);
  });
}
