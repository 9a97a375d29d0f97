// The web app's report API over a real HTTP listener (the hub's own server, problems and all): a transcriber
// drafts, the radiologist edits with If-Match, uploads a scan as multipart/form-data, signs; the PDF is served
// with its content type; the refusals (a transcriber signing, amend of a draft, a corrupt PDF, a file over the
// limit, a stale version) are problems with the reason.
import test, { type ExecutionContext } from 'ava';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { createReportRouter } from '../../admin-ui/reports.ts';
import { createWorklistRouter } from '../../admin-ui/worklists.ts';
import { renderReportPdfFile } from '../../documents/report-pdf-file.ts';
import { BusyError } from '../../runtime/busy.ts';
import { hashToken, requireAuth, TokenAuthenticator } from '../../http/auth.ts';
import { HttpServer } from '../../http/server.ts';
import { ExamService } from '../../exams/service.ts';
import { orderedExam } from '../exams/report-setup.ts';
import { facilitiesDir, openTestHub, quietLog } from '../exams/setup.ts';

const tokens = { tina: 'tina-token', chen: 'chen-token', other: 'other-token' };

async function started(t: ExecutionContext, maxAttachmentBytes?: number) {
  const hub = await openTestHub(t);
  let exams = hub.exams;
  if (maxAttachmentBytes !== undefined) {
    exams = new ExamService(hub.store.db, {
      log: quietLog,
      outboxPollMs: 60_000,
      dataDir: hub.dataDir,
      maxAttachmentBytes,
    });
    await exams.start();
    await exams.facilities.loadDir(facilitiesDir);
    t.teardown(() => exams.stop());
  }
  exams.reports.renderWith(renderReportPdfFile);
  const auth = new TokenAuthenticator([
    { name: 'tina', sha256: hashToken(tokens.tina), roles: ['transcriber'] },
    { name: 'rad-chen', sha256: hashToken(tokens.chen), roles: ['radiologist'] },
    { name: 'elsewhere', sha256: hashToken(tokens.other), roles: ['radiologist'], facilities: ['OTHER'] },
  ]);
  const server = new HttpServer({ host: '127.0.0.1', port: 0, log: quietLog });
  server.mount(createReportRouter(exams, requireAuth(auth)));
  server.mount(createWorklistRouter(exams, requireAuth(auth)));
  await server.start();
  t.teardown(() => server.stop());
  const call = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${server.port}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
    });
  const json = (path: string, token: string, method: string, body: unknown, headers: Record<string, string> = {}) =>
    call(path, token, {
      method,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
  return { exams, call, json };
}

async function pdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.addPage().drawText('Scanned report', { x: 40, y: 700, font: await doc.embedFont(StandardFonts.Helvetica) });
  return doc.save();
}

function form(bytes: Uint8Array, filename: string, type = 'application/pdf'): FormData {
  const data = new FormData();
  data.set('title', 'Outside scan');
  data.set('file', new Blob([bytes], { type }), filename);
  return data;
}

test('a transcriber drafts, the radiologist edits with If-Match and signs; the PDF is served', async (t) => {
  const { exams, call, json } = await started(t);
  const exam = await orderedExam(exams, 'UI1');
  const uid = (await exams.require(exam.examNumber)).studies[0]!.studyInstanceUid;
  await exams.completeStudy(
    exam.examNumber,
    { studyInstanceUid: uid, instanceCount: 12 },
    { actor: 'dicom', via: 'dicom' },
  );
  const readingList = async (token: string) =>
    (
      (await (await call('/api/radiologists/rad-chen/reading-list', token)).json()) as Array<{ examNumber: string }>
    ).map((e) => e.examNumber);
  t.deepEqual(await readingList(tokens.chen), [exam.examNumber]);
  t.deepEqual(await readingList(tokens.other), [], 'a token of another facility sees none of it');
  const created = await json(`/api/exams/${exam.examNumber}/reports`, tokens.tina, 'POST', { findings: 'No bleed.' });
  t.is(created.status, 201);
  const draft = (await created.json()) as { _id: string; state: string; transcriber: { id: string } };
  t.is(draft.state, 'draft');
  t.is(draft.transcriber.id, 'tina');
  t.is(created.headers.get('etag'), '"1"');
  const signByTranscriber = await json(`/api/reports/${draft._id}/sign`, tokens.tina, 'POST', {});
  t.is(signByTranscriber.status, 403, 'transcribers draft, radiologists sign');
  const edited = await json(
    `/api/reports/${draft._id}`,
    tokens.chen,
    'PATCH',
    { impression: 'Normal.' },
    { 'if-match': '"1"' },
  );
  t.is(edited.status, 200);
  const stale = await json(
    `/api/reports/${draft._id}`,
    tokens.tina,
    'PATCH',
    { impression: 'x' },
    { 'if-match': '"1"' },
  );
  t.is(stale.status, 412);
  t.is(stale.headers.get('content-type'), 'application/problem+json');
  const amendDraft = await json(`/api/reports/${draft._id}/amend`, tokens.chen, 'POST', { reason: 'typo' });
  t.is(amendDraft.status, 409);
  t.regex(
    ((await amendDraft.json()) as { detail: string }).detail,
    /only a final report is amended; this one is draft/,
  );
  const asSomeoneElse = await json(`/api/reports/${draft._id}/sign`, tokens.chen, 'POST', { author: 'rad-other' });
  t.is(asSomeoneElse.status, 403);
  const signed = await json(`/api/reports/${draft._id}/sign`, tokens.chen, 'POST', {}, { 'if-match': '"2"' });
  t.is(signed.status, 200);
  const body = (await signed.json()) as { state: string; documentId: string; author: { id: string } };
  t.is(body.state, 'final');
  t.is(body.author.id, 'rad-chen');
  t.is(body.documentId, 'rendered-3.pdf');
  const document = await call(`/api/reports/${draft._id}/document`, tokens.tina);
  t.is(document.status, 200);
  t.is(document.headers.get('content-type'), 'application/pdf');
  t.is(
    Buffer.from(await document.arrayBuffer())
      .subarray(0, 5)
      .toString('latin1'),
    '%PDF-',
  );
  t.is((await call(`/api/reports/${draft._id}`, tokens.other)).status, 404, 'another facility does not see it');
  t.deepEqual(await readingList(tokens.chen), [], 'signed final: off the reading list');
  const read = await call(`/api/reports/${draft._id}`, tokens.tina);
  t.is(((await read.json()) as { state: string }).state, 'final');
});

test('a scan uploaded as multipart/form-data becomes the document; a corrupt PDF is 422 and nothing is kept', async (t) => {
  const { exams, call, json } = await started(t);
  const exam = await orderedExam(exams, 'UI2');
  const draft = (await (await json(`/api/exams/${exam.examNumber}/reports`, tokens.chen, 'POST', {})).json()) as {
    _id: string;
  };
  const corrupt = Buffer.concat([Buffer.from('%PDF-1.5\n'), Buffer.alloc(100, 0x42)]);
  const refused = await call(`/api/reports/${draft._id}/attachments`, tokens.chen, {
    method: 'POST',
    body: form(corrupt, 'bad.pdf'),
  });
  t.is(refused.status, 422);
  t.regex(((await refused.json()) as { detail: string }).detail, /PDF cannot be read/);
  t.deepEqual((await exams.reports.require(draft._id)).attachments, []);
  const bytes = await pdf();
  const uploaded = await call(`/api/reports/${draft._id}/attachments`, tokens.chen, {
    method: 'POST',
    body: form(bytes, 'scan.pdf'),
  });
  t.is(uploaded.status, 201);
  const report = (await uploaded.json()) as { documentId: string; attachments: Array<{ title: string; size: number }> };
  t.is(report.attachments[0]?.title, 'Outside scan');
  t.is(report.attachments[0]?.size, bytes.length);
  const served = await call(`/api/reports/${draft._id}/document`, tokens.chen);
  t.is(served.headers.get('content-type'), 'application/pdf');
  t.deepEqual(new Uint8Array(await served.arrayBuffer()), bytes);
});

test('a file over reports.maxAttachmentBytes is refused with 413', async (t) => {
  const { exams, call, json } = await started(t, 4096);
  const exam = await orderedExam(exams, 'UI3');
  const draft = (await (await json(`/api/exams/${exam.examNumber}/reports`, tokens.chen, 'POST', {})).json()) as {
    _id: string;
  };
  const justOver = new Uint8Array(4097);
  justOver.set(Buffer.from('%PDF-1.7'));
  const over = await call(`/api/reports/${draft._id}/attachments`, tokens.chen, {
    method: 'POST',
    body: form(justOver, 'big.pdf'),
  });
  t.is(over.status, 413);
  t.regex(((await over.json()) as { detail: string }).detail, /limit is 4096/);
  const huge = new Uint8Array(200 * 1024);
  const wayOver = await call(`/api/reports/${draft._id}/attachments`, tokens.chen, {
    method: 'POST',
    body: form(huge, 'huge.pdf'),
  });
  t.is(wayOver.status, 413);
  const notForm = await json(`/api/reports/${draft._id}/attachments`, tokens.chen, 'POST', {});
  t.is(notForm.status, 415);
});

test('signing while the PDF threads are full is a 503 problem with Retry-After, and the report stays as it was', async (t) => {
  const { exams, json } = await started(t);
  // Refuses as a full ReportPdfPool does (test/documents/report-pdf-pool.test.ts fills a real one).
  exams.reports.renderWith(() =>
    Promise.reject(new BusyError('the report PDF renderer is busy (65 renders ahead)', 3)),
  );
  const exam = await orderedExam(exams, 'UI-BUSY');
  const created = await json(`/api/exams/${exam.examNumber}/reports`, tokens.tina, 'POST', { findings: 'No bleed.' });
  const draft = (await created.json()) as { _id: string };
  const refused = await json(`/api/reports/${draft._id}/sign`, tokens.chen, 'POST', {});
  t.is(refused.status, 503);
  t.is(refused.headers.get('retry-after'), '3');
  t.regex(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
  t.regex(((await refused.json()) as { detail: string }).detail, /busy/);
  t.like(await exams.reports.get(draft._id), { state: 'draft', version: 1 });
});
