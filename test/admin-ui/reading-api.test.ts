// The radiologist's and transcriber's API (issue 15 items 3 and 4) over a real HTTP listener: the reading list
// (STAT first, waiting since the study completed, transcribed drafts marked), the reading view with templates,
// the viewer link and prior reports, dictation and hand-over with their refusals, and 403 for every other role
// or a radiologist who does not read for the facility.
import test from 'ava';
import { readingServer, readyExam } from './reading-setup.ts';

interface Line {
  examNumber: string;
  priority: string;
  readySince: string | null;
  patientName: string;
  report: { id: string; state: string } | null;
  dictation: { state: string; transcriber: string | null } | null;
}

test('a dictated exam is typed by the transcriber, handed over, appears transcribed and is signed by the radiologist', async (t) => {
  const { exams, as } = await readingServer(t);
  const routine = await readyExam(exams, 'RD1');
  const stat = await readyExam(exams, 'RD2', 'stat');
  const list = async () => (await (await as('rad-chen', '/api/reading/list')).json()) as Line[];
  const first = await list();
  t.deepEqual(
    first.map((l) => l.examNumber),
    [stat.examNumber, routine.examNumber],
    'STAT first',
  );
  t.truthy(first[0]?.readySince, 'waiting counts from the completed study');
  t.is(first[0]?.patientName, 'Müller, Zoë');

  t.is(((await as('tina', '/api/transcription/queue').then((r) => r.json())) as unknown[]).length, 0);
  const marked = await as('rad-chen', `/api/reading/exams/${routine.examNumber}/dictation`, 'POST', {});
  t.is(marked.status, 201);
  const queue = (await (await as('tina', '/api/transcription/queue')).json()) as Array<{
    examNumber: string;
    radiologist: string;
  }>;
  t.deepEqual(
    queue.map((q) => [q.examNumber, q.radiologist]),
    [[routine.examNumber, 'rad-chen']],
  );

  const created = await as('tina', `/api/exams/${routine.examNumber}/reports`, 'POST', {});
  const draft = (await created.json()) as { _id: string };
  const empty = await as('tina', `/api/transcription/${routine.examNumber}/hand-over`, 'POST', { reportId: draft._id });
  t.is(empty.status, 409);
  t.regex(((await empty.json()) as { detail: string }).detail, /no findings and no impression yet/);
  const typed = await as('tina', `/api/reports/${draft._id}`, 'PATCH', {
    findings: 'No bleed.',
    impression: 'Normal.',
  });
  t.is(typed.status, 200);
  const handed = await as('tina', `/api/transcription/${routine.examNumber}/hand-over`, 'POST', {
    reportId: draft._id,
  });
  t.is(handed.status, 200);
  const again = await as('tina', `/api/transcription/${routine.examNumber}/hand-over`, 'POST', {
    reportId: draft._id,
  });
  t.is(again.status, 409);
  t.regex(((await again.json()) as { detail: string }).detail, /already handed over/);
  t.deepEqual(await (await as('tina', '/api/transcription/queue')).json(), [], 'off the queue once handed over');

  const line = (await list()).find((l) => l.examNumber === routine.examNumber);
  t.deepEqual(line?.dictation, { state: 'transcribed', transcriber: 'tina' });
  t.deepEqual(line?.report, { id: draft._id, state: 'draft' });

  const signed = await as('rad-chen', `/api/reports/${draft._id}/sign`, 'POST', {});
  t.is(signed.status, 200);
  t.deepEqual(
    (await list()).map((l) => l.examNumber),
    [stat.examNumber],
    'signed final: off the reading list',
  );
  const markSigned = await as('rad-chen', `/api/reading/exams/${routine.examNumber}/dictation`, 'POST', {});
  t.is(markSigned.status, 409);
  t.regex(((await markSigned.json()) as { detail: string }).detail, /is final: nothing left to dictate/);
  const amendNoReason = await as('rad-chen', `/api/reports/${draft._id}/amend`, 'POST', { impression: 'Small' });
  t.is(amendNoReason.status, 422);
  t.regex(((await amendNoReason.json()) as { detail: string }).detail, /say why the report is amended/);
});

test('the reading view has the templates of the modality, the viewer link and the patient’s prior reports', async (t) => {
  const { exams, as } = await readingServer(t);
  const earlier = await readyExam(exams, 'PR1');
  const report = await exams.reports.create(
    { examNumber: earlier.examNumber, findings: 'Old infarct.', impression: 'Chronic.', author: 'rad-chen' },
    { actor: 'rad-chen', via: 'admin-ui' },
  );
  await exams.reports.sign(report._id, {}, { actor: 'rad-chen', via: 'admin-ui' });
  const later = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: { id: earlier.patientId },
      procedure: { code: 'CTHEAD', text: 'CT head follow-up' },
      modality: 'CT',
    },
    { actor: 'test', via: 'hl7' },
  );
  const view = await as('rad-chen', `/api/reading/exams/${later.examNumber}`);
  t.is(view.status, 200);
  const body = (await view.json()) as {
    templates: Array<{ name: string }>;
    priors: Array<{ examNumber: string; state: string; impression: string; procedure: string }>;
    studies: Array<{ viewerUrl: string }>;
  };
  t.deepEqual(
    body.templates.map((x) => x.name),
    ['CT head, normal', 'Blank'],
  );
  t.deepEqual(
    body.priors.map((p) => [p.examNumber, p.state, p.impression, p.procedure]),
    [[earlier.examNumber, 'final', 'Chronic.', 'CT head without contrast']],
  );
  const earlierView = (await (await as('rad-chen', `/api/reading/exams/${earlier.examNumber}`)).json()) as {
    studies: Array<{ viewerUrl: string }>;
  };
  t.is(
    earlierView.studies[0]?.viewerUrl,
    `https://viewer.example/viewer?StudyInstanceUIDs=${encodeURIComponent(earlier.studyInstanceUid)}`,
  );
});

test('other roles and other facilities are refused with 403 and the reason', async (t) => {
  const { exams, as } = await readingServer(t);
  const exam = await readyExam(exams, 'RF1');
  const refused = async (user: string, path: string, method = 'GET', body?: unknown) => {
    const response = await as(user, path, method, body);
    t.is(response.status, 403, `${user} ${method} ${path}`);
    return ((await response.json()) as { detail: string }).detail;
  };
  t.regex(await refused('tina', '/api/reading/list'), /requires one of the roles: radiologist/);
  t.regex(await refused('cora', '/api/reading/list'), /requires one of the roles/);
  t.regex(await refused('cora', '/api/transcription/queue'), /requires one of the roles: transcriber/);
  t.regex(await refused('tom', `/api/reading/exams/${exam.examNumber}`), /requires one of the roles/);
  t.regex(await refused('rad-other', `/api/reading/exams/${exam.examNumber}`), /not a radiologist of facility/);
  t.regex(
    await refused('rad-other', `/api/reading/exams/${exam.examNumber}/dictation`, 'POST', {}),
    /not a radiologist of facility/,
  );
  t.regex(await refused('tina', `/api/reading/exams/${exam.examNumber}`), /was not marked for dictation/);
  t.regex(
    await refused('tina', `/api/reading/exams/${exam.examNumber}/dictation`, 'POST', {}),
    /requires one of the roles: radiologist/,
  );
  t.regex(await refused('cora', `/api/exams/${exam.examNumber}/reports`, 'POST', {}), /requires one of the roles/);
  t.regex(await refused('rad-other', `/api/exams/${exam.examNumber}/reports`, 'POST', {}), /not a radiologist of/);
  const draft = await exams.reports.create({ examNumber: exam.examNumber, findings: 'x' }, { actor: 't', via: 'test' });
  t.regex(await refused('rad-other', `/api/reports/${draft._id}`, 'PATCH', { findings: 'y' }), /not a radiologist/);
  t.regex(await refused('rad-other', `/api/reports/${draft._id}/sign`, 'POST', {}), /not a radiologist of/);
  t.regex(await refused('tom', `/api/reports/${draft._id}/sign`, 'POST', {}), /requires one of the roles/);
  t.deepEqual(await (await as('rad-other', '/api/reading/list')).json(), [], 'reads for no facility: nothing');
});
