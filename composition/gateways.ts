// What the fax, e-mail and SMS destinations share across a hub process: the fax jobs at the gateway and their
// scheduled status polls (fax/fax-jobs.ts), and the scheduled escalation checks of technician dispatch. Made once
// by hub.ts, before the channels deploy, so the jobs a previous run left find their destination again. The report
// link signer is here too: the e-mail destination signs with the secret the hub's link route checks with.
import type { ExamService } from '../exams/service.ts';
import { FaxJobs } from '../fax/fax-jobs.ts';
import type { Logger } from '../runtime/log.ts';
import type { Scheduler } from '../runtime/scheduler.ts';
import type { HubDb } from '../store/db.ts';
import { DispatchEscalation } from './dispatch-escalation.ts';
import type { ReportLinks } from './report-links.ts';

export interface Gateways {
  readonly faxJobs: FaxJobs;
  readonly escalation: DispatchEscalation;
  readonly links: ReportLinks;
}

export function openGateways(
  db: HubDb,
  scheduler: Scheduler,
  exams: ExamService,
  log: Logger,
  links: ReportLinks,
): Gateways {
  return {
    links,
    faxJobs: new FaxJobs(db, scheduler, log.child({ part: 'fax' })),
    escalation: new DispatchEscalation(scheduler, exams, log.child({ part: 'dispatch' })),
  };
}
