// The reading routes over a real HTTP listener, one bearer token per role: the radiologist of Valley General
// (rad-chen), a radiologist who does not read for it, a transcriber, a facility user of Valley General and one of
// another facility, a technician. Exams get a completed study the way DICOM completion records it.
import type { ExecutionContext } from 'ava';
import { AuditLog } from '../../admin-ui/audit.ts';
import { createConsultantLinkRouter } from '../../admin-ui/consultant-link-routes.ts';
import { createConsultantPageRouter } from '../../admin-ui/consultant-page.ts';
import { createReadingRouter, type ReadingSettings } from '../../admin-ui/reading-routes.ts';
import { createReportRouter } from '../../admin-ui/reports.ts';
import { StudyIndex } from '../../dicom/study-index.ts';
import { renderReportPdfFile } from '../../documents/report-pdf-file.ts';
import { ConsultantLinks } from '../../exams/consultant-links.ts';
import { Dictations } from '../../exams/dictations.ts';
import type { ExamService } from '../../exams/service.ts';
import { hashToken, requireAuth, TokenAuthenticator, type Role } from '../../http/auth.ts';
import { HttpServer } from '../../http/server.ts';
import { orderedExam } from '../exams/report-setup.ts';
import { openTestHub, quietLog } from '../exams/setup.ts';

export const users: Record<string, { roles: Role[]; facilities?: string[] }> = {
  'rad-chen': { roles: ['radiologist'], facilities: ['VALLEYGEN'] },
  'rad-other': { roles: ['radiologist'] },
  tina: { roles: ['transcriber'], facilities: ['VALLEYGEN'] },
  cora: { roles: ['customer'], facilities: ['VALLEYGEN'] },
  olga: { roles: ['customer'], facilities: ['OTHER'] },
  tom: { roles: ['technician'], facilities: ['VALLEYGEN'] },
};

export const settings: ReadingSettings = {
  viewerUrl: 'https://viewer.example/viewer?StudyInstanceUIDs={StudyInstanceUID}',
  templates: {
    CT: [{ name: 'CT head, normal', findings: 'No acute intracranial abnormality.', impression: 'Normal CT head.' }],
    '*': [{ name: 'Blank', findings: '', impression: '' }],
  },
};

export async function readingServer(t: ExecutionContext) {
  const hub = await openTestHub(t);
  const { exams } = hub;
  exams.reports.renderWith(renderReportPdfFile);
  let clock = Date.now();
  const links = new ConsultantLinks(hub.store.db, () => clock);
  await links.ensureIndexes();
  const dictations = new Dictations(hub.store.db);
  await dictations.ensureIndexes();
  const audit = new AuditLog(hub.store.db);
  await audit.open();
  const studies = new StudyIndex(hub.store.db);
  const auth = requireAuth(
    new TokenAuthenticator(Object.entries(users).map(([name, u]) => ({ name, sha256: hashToken(name), ...u }))),
  );
  const server = new HttpServer({ host: '127.0.0.1', port: 0, log: quietLog });
  server.mount(createReportRouter(exams, auth));
  server.mount(createReadingRouter({ exams, dictations, auth, settings }));
  server.mount(createConsultantLinkRouter({ exams, links, audit, auth }));
  server.mount(createConsultantPageRouter({ exams, links, audit, instancesOf: (uid) => studies.instancesOf(uid) }));
  await server.start();
  t.teardown(() => server.stop());
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
  /** A request as the named user (the token is the user's name); a body is sent as JSON. */
  const as = (user: string, path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) =>
    fetch(url(path), {
      method,
      headers: {
        authorization: `Bearer ${user}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    ...hub,
    links,
    audit,
    studies,
    url,
    as,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

/** An ordered CT exam of Valley General whose study is complete (ready to read). */
export async function readyExam(exams: ExamService, placer: string, priority?: 'stat') {
  const exam = await orderedExam(exams, placer);
  if (priority) await exams.updateOrder(exam.examNumber, { priority }, { actor: 'test', via: 'admin-ui' });
  const uid = (await exams.require(exam.examNumber)).studies[0]!.studyInstanceUid;
  await exams.completeStudy(
    exam.examNumber,
    { studyInstanceUid: uid, instanceCount: 2 },
    { actor: 'dicom', via: 'dicom' },
  );
  return { ...exam, studyInstanceUid: uid };
}
