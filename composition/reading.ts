// The reading side of the web app (issue 15 items 3 to 5) on the HTTP listener: the radiologist's and
// transcriber's routes, consultant links and the page they open. The consultant page lists a study's instances
// from dicom/'s study index, which admin-ui/ may not import: this file hands it over as a function.
import type { Middleware } from 'koa';
import type { AuditLog } from '../admin-ui/audit.ts';
import { createConsultantLinkRouter } from '../admin-ui/consultant-link-routes.ts';
import { createConsultantPageRouter } from '../admin-ui/consultant-page.ts';
import { createReadingRouter } from '../admin-ui/reading-routes.ts';
import type { HubConfig } from '../config/hub-config.ts';
import { ConsultantLinks } from '../exams/consultant-links.ts';
import { Dictations } from '../exams/dictations.ts';
import type { ExamService } from '../exams/service.ts';
import type { HttpServer } from '../http/server.ts';
import type { HubDb } from '../store/db.ts';
import type { DicomPart } from './dicom.ts';

export interface ReadingMountDeps {
  db: HubDb;
  exams: ExamService;
  dicom: DicomPart;
  audit: AuditLog;
  auth: Middleware;
}

export async function mountReading(http: HttpServer, config: HubConfig, deps: ReadingMountDeps): Promise<void> {
  const { db, exams, dicom, audit, auth } = deps;
  const dictations = new Dictations(db);
  await dictations.ensureIndexes();
  const links = new ConsultantLinks(db);
  await links.ensureIndexes();
  http.mount(createReadingRouter({ exams, dictations, auth, settings: config.reports }));
  http.mount(createConsultantLinkRouter({ exams, links, audit, auth }));
  http.mount(
    createConsultantPageRouter({
      exams,
      links,
      audit,
      instancesOf: (uid) => dicom.studies.instancesOf(uid),
    }),
  );
}
