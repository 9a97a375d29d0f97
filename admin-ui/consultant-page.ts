// The page a consultant's link opens, without an account (issue 15 item 5): one exam's report, its PDF, and the
// list of the study's series and instances, read-only, with a link per study to the web app's viewer, which reads
// the images through the link's own DICOMweb root (/consult/<token>/dicomweb). Rendered on the hub as plain HTML
// (no script, so the CSP allows none) rather than in the console app, which assumes a signed-in user. A revoked or expired link answers
// 410 and an unknown one 404, each as a page a person can read; nothing of the exam shows then. The token is in
// the path, so answers are never cached and send no Referer.
import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ConsultantLinks, ConsultantLink } from '../exams/consultant-links.ts';
import type { ExamService } from '../exams/service.ts';
import type { InstanceRecord } from '../exams/study-records.ts';
import type { AuditLog } from './audit.ts';
import { currentReportRef, patientName, procedureText } from './reading-access.ts';
import { useLink } from './consultant-access.ts';
import { escapeHtml, imagesLinks, pageHtml, seriesTable } from './consultant-html.ts';

export interface ConsultantPageDeps {
  exams: ExamService;
  links: ConsultantLinks;
  audit: AuditLog;
  /** The stored instances of a study (dicom/study-index.ts), wired by composition/. */
  instancesOf(studyInstanceUid: string): Promise<InstanceRecord[]>;
}

function send(ctx: Context, status: number, title: string, body: string): void {
  const nonce = randomBytes(16).toString('base64');
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('X-Robots-Tag', 'noindex');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
  ctx.body = pageHtml(title, body, nonce);
}

const gone = {
  revoked: 'This link was revoked by the person who shared it.',
  expired: 'This link has expired.',
};

export function createConsultantPageRouter({ exams, links, audit, instancesOf }: ConsultantPageDeps): Router {
  const router = new Router({ prefix: '/consult' });

  /** The open link, or the page saying why not (already sent). */
  const opened = async (ctx: Context): Promise<ConsultantLink | undefined> => {
    const found = await useLink({ links, audit }, ctx.params['token'] ?? '', 'consultant-link.use', ctx.path);
    if (found.status === 'unknown') {
      send(ctx, 404, 'Link not found', '<p>This link is not known. Check that it was copied whole.</p>');
      return undefined;
    }
    if (found.status !== 'open') {
      const text = `<p>${gone[found.status]} Ask for a new link if you still need the report.</p>`;
      send(ctx, 410, 'Link no longer valid', text);
      return undefined;
    }
    return found.link;
  };

  router.get('/:token', async (ctx) => {
    const link = await opened(ctx);
    if (!link) return;
    const exam = await exams.get(link.examNumber);
    if (!exam) {
      send(ctx, 410, 'Exam no longer available', '<p>The exam this link was made for is no longer kept.</p>');
      return;
    }
    const [patient, facility] = await Promise.all([
      exams.patients.get(exam.patientId),
      exams.facilities.get(exam.facility),
    ]);
    const ref = currentReportRef(exam);
    const report = ref ? await exams.reports.get(ref.id) : undefined;
    const instances = (await Promise.all(exam.studies.map((s) => instancesOf(s.studyInstanceUid)))).flat();
    const facts: Array<[string, string]> = [
      ['Facility', facility?.name ?? exam.facility],
      ['Exam', exam.examNumber],
      ['Procedure', procedureText(exam)],
      ['Patient', patientName(patient) || '(no name)'],
      ['Born', patient?.birthDate ?? '–'],
      ['Link valid until', `${link.expiresAt.replace('T', ' ').slice(0, 16)} UTC`],
    ];
    const parts = [
      `<dl>${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`,
      '<h2>Report</h2>',
      report && report.state !== 'draft' ? reportHtml(report, ctx.params['token']!) : '<p>No report yet.</p>',
      '<h2>Images</h2>',
      imagesLinks(exam.studies, instances, ctx.params['token']!),
      seriesTable(instances),
    ];
    send(ctx, 200, `Exam ${exam.examNumber}`, parts.join('\n'));
  });

  router.get('/:token/document', async (ctx) => {
    const link = await opened(ctx);
    if (!link) return;
    const exam = await exams.get(link.examNumber);
    const ref = exam ? currentReportRef(exam) : undefined;
    const report = ref ? await exams.reports.get(ref.id) : undefined;
    if (!report?.documentId || report.state === 'draft') {
      send(ctx, 404, 'No document', '<p>This exam has no signed report document yet.</p>');
      return;
    }
    const { attachment, bytes } = await exams.reports.document(report._id);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Content-Disposition', `inline; filename="${report.examNumber}.${attachment.contentType.split('/')[1]}"`);
    ctx.type = attachment.contentType;
    ctx.body = bytes;
  });

  return router;
}

function reportHtml(report: NonNullable<Awaited<ReturnType<ExamService['reports']['get']>>>, token: string): string {
  const signed = report.signedAt
    ? ` by ${report.author?.name ?? report.author?.id ?? '–'} on ${report.signedAt.slice(0, 10)}`
    : '';
  const rows = [
    `<p class="state">${escapeHtml(`${report.state[0]?.toUpperCase()}${report.state.slice(1)} report${signed}`)}</p>`,
    report.state === 'amended' && report.reason ? `<p><b>Amended:</b> ${escapeHtml(report.reason)}</p>` : '',
    '<h3>Findings</h3>',
    `<p class="text">${escapeHtml(report.findings ?? '–')}</p>`,
    '<h3>Impression</h3>',
    `<p class="text">${escapeHtml(report.impression ?? '–')}</p>`,
    report.documentId
      ? `<p><a href="/consult/${encodeURIComponent(token)}/document">Open the report document</a></p>`
      : '',
  ];
  return rows.join('\n');
}
