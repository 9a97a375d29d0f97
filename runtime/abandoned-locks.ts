// Agenda frees a job locked by a process that died only when the lock is older than its lifetime (10 minutes by
// default). A hub killed while it held a lock (a job running, or one locked ahead of its due time, which agenda
// does for every job due within `processEvery`) would leave that job waiting those 10 minutes after the restart:
// a study completion, a fax status poll, a delivery retry. At start, the scheduler gives back the locks of this
// installation's exited processes at once, as the queue and outbox leases are given back (channels/lease-owner.ts).
// Locks of live processes and of other installations are never touched.

/** The calls made on the jobs collection; both store engines and the MongoDB driver have them. */
export interface JobsCollection {
  find(
    filter: Record<string, unknown>,
    options: { projection: Record<string, 1> },
  ): { toArray(): Promise<Array<{ lastModifiedBy?: unknown }>> };
  updateMany(filter: Record<string, unknown>, update: Record<string, unknown>): Promise<{ modifiedCount: number }>;
  deleteMany(filter: Record<string, unknown>): Promise<{ deletedCount: number }>;
}

/**
 * Releases the locks held by holders `isAbandoned` names; returns how many jobs were freed.
 *
 * A job still due (nextRunAt set) only loses its lock and runs at its time. A one-time job that was running has
 * nextRunAt null (agenda clears it when the run starts), so it could only come back through lock expiry: its
 * lock is dated to the epoch instead, which agenda reads as expired and runs the job again now.
 */
export async function releaseAbandonedLocks(
  jobs: JobsCollection,
  isAbandoned: (holder: string) => boolean,
): Promise<number> {
  const locked = await jobs.find({ lockedAt: { $ne: null } }, { projection: { lastModifiedBy: 1 } }).toArray();
  const holders = [...new Set(locked.map((job) => job.lastModifiedBy))].filter(
    (holder): holder is string => typeof holder === 'string' && isAbandoned(holder),
  );
  if (holders.length === 0) return 0;
  const mine = { lockedAt: { $ne: null }, lastModifiedBy: { $in: holders } };
  const due = await jobs.updateMany({ ...mine, nextRunAt: { $ne: null } }, { $unset: { lockedAt: true } });
  const running = await jobs.updateMany({ ...mine, nextRunAt: null }, { $set: { lockedAt: new Date(0) } });
  return due.modifiedCount + running.modifiedCount;
}
