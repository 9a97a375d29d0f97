// The radiologist's and the transcriber's work under /api (issue 15 items 3 and 4): the reading list with waiting
// times and transcribed drafts marked, one exam's reading view (patient, reports, prior reports of the patient,
// templates for its modality, the viewer link), marking an exam for dictation, the transcriber's queue and the
// hand-over. Writing the report itself goes through admin-ui/reports.ts, which every way in shares.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { readJson } from '../http/body.ts';
import { requireRole } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { Dictations } from '../exams/dictations.ts';
import type { Exam } from '../exams/exam.ts';
import type { ExamService } from '../exams/service.ts';
import { expectKeys, expectObject, expectString } from '../runtime/validate.ts';
import {
  checkReadsFor,
  currentReportRef,
  examInScope,
  inScope,
  patientName,
  procedureText,
  readySince,
  userOf,
} from './reading-access.ts';
import { domainErrors } from './reports.ts';

export interface ReadingSettings {
  /** `{StudyInstanceUID}` is replaced (config `reports.viewerUrl`). */
  viewerUrl?: string;
  templates: Record<string, Array<{ name: string; findings?: string; impression?: string }>>;
}

export interface ReadingDeps {
  exams: ExamService;
  dictations: Dictations;
  auth: Middleware;
  settings: ReadingSettings;
}

const readers = requireRole('admin', 'radiologist', 'transcriber');

/** Without a configured viewer the web app's own (/viewer/<uid>) shows the study. */
function viewerUrl(template: string | undefined, studyInstanceUid: string): string {
  return (template ?? '/viewer/{StudyInstanceUID}').replaceAll(
    '{StudyInstanceUID}',
    encodeURIComponent(studyInstanceUid),
  );
}

export function createReadingRouter({ exams, dictations, auth, settings }: ReadingDeps): Router {
  const router = new Router({ prefix: '/api' });
  router.use(auth, domainErrors);

  /** One line of a list: what a person needs to pick the next exam, without opening it. */
  const line = async (exam: Exam) => {
    const patient = await exams.patients.get(exam.patientId);
    const report = currentReportRef(exam);
    return {
      examNumber: exam.examNumber,
      facility: exam.facility,
      priority: exam.priority,
      procedure: procedureText(exam),
      modality: exam.modality ?? exam.studies[0]?.modality ?? null,
      patientName: patientName(patient),
      birthDate: patient?.birthDate ?? null,
      readySince: readySince(exam) ?? null,
      report: report ? { id: report.id, state: report.status } : null,
    };
  };

  router.get('/reading/list', requireRole('radiologist'), async (ctx) => {
    const user = userOf(ctx);
    const list = await exams.lists.readingList(user.name, {
      limit: 200,
      ...(user.facilities === undefined ? {} : { facilities: user.facilities }),
    });
    const dictated = await dictations.ofExams(list.map((e) => e.examNumber));
    ctx.body = await Promise.all(
      list.map(async (summary) => {
        const dictation = dictated.get(summary.examNumber);
        return {
          ...(await line(summary as Exam)),
          dictation: dictation ? { state: dictation.state, transcriber: dictation.transcriber ?? null } : null,
        };
      }),
    );
  });

  router.get('/reading/exams/:examNumber', readers, async (ctx) => {
    const user = userOf(ctx);
    const exam = await examInScope(ctx, exams, ctx.params['examNumber']!);
    await checkReadsFor(ctx, exams, exam);
    const dictation = await dictations.get(exam.examNumber);
    if (
      user.roles.includes('transcriber') &&
      !user.roles.some((r) => r === 'admin' || r === 'radiologist') &&
      !dictation
    )
      throw new HttpError(403, `exam ${exam.examNumber} was not marked for dictation`, { code: 'forbidden' });
    const page = await exams.reports.search({
      patientIds: [exam.patientId],
      ...(user.facilities === undefined ? {} : { facilities: user.facilities }),
      states: ['preliminary', 'final', 'amended'],
      sort: [{ field: 'signedAt', direction: -1 }],
      limit: 20,
    });
    const priors = await Promise.all(
      page.items
        .filter((r) => r.examNumber !== exam.examNumber)
        .map(async (r) => {
          const other = await exams.get(r.examNumber);
          const { _id, examNumber, state, findings, impression, signedAt, author, documentId } = r;
          return {
            _id,
            examNumber,
            state,
            procedure: other ? procedureText(other) : '',
            ...{ findings, impression, signedAt, author, documentId },
          };
        }),
    );
    const modality = exam.modality ?? exam.studies[0]?.modality;
    ctx.body = {
      ...(await line(exam)),
      status: exam.status,
      accession: exam.identifiers.find((i) => i.kind === 'accession')?.value ?? null,
      studies: exam.studies.map((s) => ({
        studyInstanceUid: s.studyInstanceUid,
        modality: s.modality ?? null,
        instanceCount: s.instanceCount ?? null,
        completedAt: s.completedAt ?? null,
        viewerUrl: viewerUrl(settings.viewerUrl, s.studyInstanceUid),
      })),
      reports: await exams.reports.listByExam(exam.examNumber),
      priors,
      templates: [...(settings.templates[modality ?? ''] ?? []), ...(settings.templates['*'] ?? [])],
      dictation: dictation ?? null,
    };
  });

  router.post('/reading/exams/:examNumber/dictation', requireRole('radiologist'), async (ctx) => {
    const exam = await examInScope(ctx, exams, ctx.params['examNumber']!);
    await checkReadsFor(ctx, exams, exam);
    const refused = !readySince(exam)
      ? 'has no complete study to dictate'
      : ['final', 'amended', 'completed', 'cancelled'].includes(exam.status)
        ? `is ${exam.status}: nothing left to dictate`
        : undefined;
    if (refused)
      throw new HttpError(409, `exam ${exam.examNumber} ${refused}`, { code: 'transition-refused', path: 'status' });
    ctx.status = 201;
    ctx.body = await dictations.mark(exam, userOf(ctx).name);
  });

  router.get('/transcription/queue', requireRole('transcriber'), async (ctx) => {
    const waiting = await dictations.waiting(userOf(ctx).facilities);
    const lines = await Promise.all(
      waiting.map(async (d) => {
        const exam = await exams.get(d._id);
        return exam ? { ...(await line(exam)), radiologist: d.radiologist, markedAt: d.markedAt } : undefined;
      }),
    );
    ctx.body = lines.filter((l) => l !== undefined);
  });

  router.post('/transcription/:examNumber/hand-over', requireRole('transcriber'), async (ctx) => {
    const exam = await examInScope(ctx, exams, ctx.params['examNumber']!);
    const body = expectObject(await readJson(ctx, 64 * 1024), '');
    expectKeys(body, '', ['reportId']);
    const report = await exams.reports.require(expectString(body['reportId'], 'reportId'));
    if (!inScope(userOf(ctx), report.facility))
      throw new HttpError(403, `this user may not see facility '${report.facility}'`, { code: 'forbidden' });
    ctx.body = await dictations.handOver(exam.examNumber, report, userOf(ctx).name);
  });

  return router;
}
