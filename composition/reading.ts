// The reading side of the web app (issue 15 items 3 to 5) on the HTTP listener: the radiologist's and
// transcriber's routes, consultant links, the page they open and the link's own DICOMweb root, read-only and
// limited to the exam's studies, which the viewer uses instead of a session. The consultant page lists a study's
// instances from dicom/'s study index, which admin-ui/ may not import: this file hands it over as a function.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { linkImageAccess } from '../admin-ui/consultant-access.ts';
import type { AuditLog } from '../admin-ui/audit.ts';
import { createConsultantLinkRouter } from '../admin-ui/consultant-link-routes.ts';
import { createConsultantPageRouter } from '../admin-ui/consultant-page.ts';
import { createReadingRouter } from '../admin-ui/reading-routes.ts';
import type { HubConfig } from '../config/hub-config.ts';
import { createDicomwebRouter } from '../dicom/dicomweb.ts';
import { ConsultantLinks } from '../exams/consultant-links.ts';
import { Dictations } from '../exams/dictations.ts';
import type { ExamService } from '../exams/service.ts';
import { HttpError } from '../http/http-error.ts';
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
  const imageAccess = linkImageAccess({ links, audit, exams });
  const root = '/consult/:token/dicomweb';
  http.mount(
    createDicomwebRouter({
      studies: dicom.studies,
      root,
      access: (ctx) => imageAccess(ctx.params['token'] ?? '', ctx.path),
      cache: dicom.retrieveCache,
    }),
  );
  // Anything else under a link's DICOMweb root is not a page of the web app.
  const rest = new Router({ prefix: root });
  rest.all('/*path', () => {
    throw new HttpError(404, 'no such DICOMweb resource', { code: 'not-found' });
  });
  http.mount(rest);
}
