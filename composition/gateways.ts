// What the fax, e-mail and SMS destinations share across a hub process: the fax jobs at the gateway and their
// scheduled status polls (fax/fax-jobs.ts). Made once by hub.ts, before the channels deploy, so the polls of jobs
// a previous run left find their destination once it is deployed again.
import { FaxJobs } from '../fax/fax-jobs.ts';
import type { Logger } from '../runtime/log.ts';
import type { Scheduler } from '../runtime/scheduler.ts';
import type { HubDb } from '../store/db.ts';

export interface Gateways {
  readonly faxJobs: FaxJobs;
}

export function openGateways(db: HubDb, scheduler: Scheduler, log: Logger): Gateways {
  return { faxJobs: new FaxJobs(db, scheduler, log.child({ part: 'fax' })) };
}
