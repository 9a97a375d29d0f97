// The work areas' API as the web app calls it, signed in with the session cookie and CSRF token over the hub's
// own HTTP server: a facility user registers a patient and exam (mistakes named at their field), finds the
// patient again and adds an exam, edits and cancels one; a technician claims an exam and works the exception
// list; a client admin prices the month. Other roles and other facilities get 403, a missing CSRF token too.
import test, { type ExecutionContext } from 'ava';
import { createBillingRouter } from '../../admin-ui/billing-routes.ts';
import { createFacilityWorkRouter } from '../../admin-ui/facility-work-routes.ts';
import { createTechnicianRouter } from '../../admin-ui/technician-routes.ts';
import { createWorklistRouter } from '../../admin-ui/worklists.ts';
import { ExamService } from '../../exams/service.ts';
import type { Role } from '../../http/auth.ts';
import { consoleClient, type ConsoleClient } from '../support/console-client.ts';
import { startConsoleServer } from '../support/console-server.ts';
import { facilitiesDir, hl7Source, quietLog } from '../exams/setup.ts';

const password = 'a long enough password';

async function started(t: ExecutionContext) {
  let exams: ExamService | undefined;
  const moved: string[] = [];
  const server = await startConsoleServer({}, (mount, auth, { store, audit }) => {
    exams = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000 });
    mount(createFacilityWorkRouter(exams, auth, audit));
    mount(
      createTechnicianRouter({
        exams,
        auth,
        audit,
        studyMoved: async (uid, examNumber) => void moved.push(`${uid}>${examNumber}`),
      }),
    );
    mount(createBillingRouter(exams, store.db, auth));
    mount(createWorklistRouter(exams, auth));
  });
  t.teardown(() => server.stop());
  const service = exams!;
  await service.start();
  await service.facilities.loadDir(facilitiesDir);
  t.teardown(() => service.stop());
  const as = async (username: string, roles: Role[], facilities?: string[]): Promise<ConsoleClient> => {
    await server.console.users.create(
      { username, name: username, roles, password, ...(facilities ? { facilities } : {}) },
      false,
    );
    const client = consoleClient(server.url);
    t.is((await client.signIn(username, password)).status, 200);
    return client;
  };
  return { server, exams: service, as, moved };
}

const newPatient = {
  patient: { mrn: 'VG-100', family: 'Ramírez', given: 'Ana Sofía', birthDate: '1980-04-12', sex: 'female' },
  procedureCode: 'CTCHEST',
  procedureText: 'CT chest with contrast',
  modality: 'ct',
  priority: 'urgent',
  reason: 'cough for six weeks',
};

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

test('a facility user registers a patient and exam, finds the patient again, adds, edits and cancels an exam', async (t) => {
  const { as, server } = await started(t);
  const clerk = await as('vg-clerk', ['customer'], ['VALLEYGEN']);

  const badDate = await clerk.request('/api/facilities/VALLEYGEN/exams', {
    method: 'POST',
    json: { ...newPatient, patient: { ...newPatient.patient, birthDate: '12.04.1980' } },
  });
  t.is(badDate.status, 422);
  t.like(await json(badDate), { path: 'patient.birthDate' });
  const noCode = await clerk.request('/api/facilities/VALLEYGEN/exams', {
    method: 'POST',
    json: { ...newPatient, procedureCode: '' },
  });
  t.like(await json(noCode), { status: 422, path: 'procedureCode' });
  const badPriority = await clerk.request('/api/facilities/VALLEYGEN/exams', {
    method: 'POST',
    json: { ...newPatient, priority: 'whenever' },
  });
  t.like(await json(badPriority), { status: 422, path: 'priority' });
  t.is((await json<unknown[]>(await clerk.request('/api/facilities/VALLEYGEN/patients?name=Ram'))).length, 0);

  const created = await clerk.request('/api/facilities/VALLEYGEN/exams', { method: 'POST', json: newPatient });
  t.is(created.status, 201);
  const exam = await json<{ examNumber: string; status: string; modality: string; patientId: string }>(created);
  t.regex(exam.examNumber, /\S+/);
  t.like(exam, { status: 'requested', modality: 'CT', priority: 'urgent' });
  const again = await clerk.request('/api/facilities/VALLEYGEN/exams', { method: 'POST', json: newPatient });
  t.like(await json(again), { status: 409, path: 'patient.mrn' });

  for (const search of ['name=ram', 'mrn=VG-100', 'birthDate=1980-04-12']) {
    const found = await json<Array<{ id: string; mrns: string[] }>>(
      await clerk.request(`/api/facilities/VALLEYGEN/patients?${search}`),
    );
    t.deepEqual(
      found.map((p) => [p.id, p.mrns]),
      [[exam.patientId, ['VG-100']]],
      search,
    );
  }
  const second = await clerk.request('/api/facilities/VALLEYGEN/exams', {
    method: 'POST',
    json: { patientId: exam.patientId, procedureCode: 'MRKNEE', modality: 'MR' },
  });
  t.is(second.status, 201);
  const secondExam = await json<{ examNumber: string; patientId: string; priority: string }>(second);
  t.is(secondExam.patientId, exam.patientId);
  t.is(secondExam.priority, 'routine');

  const edited = await clerk.request(`/api/exams/${secondExam.examNumber}`, {
    method: 'PATCH',
    json: { priority: 'stat', reason: 'pain after a fall' },
    headers: { 'if-match': '"1"' },
  });
  t.is(edited.status, 200);
  t.like(await json(edited), { priority: 'stat', reason: 'pain after a fall' });
  const stale = await clerk.request(`/api/exams/${secondExam.examNumber}`, {
    method: 'PATCH',
    json: { priority: 'routine' },
    headers: { 'if-match': '"1"' },
  });
  t.is(stale.status, 412);

  const noReason = await clerk.request(`/api/exams/${secondExam.examNumber}/cancel`, { method: 'POST', json: {} });
  t.like(await json(noReason), { status: 400, path: 'reason' });
  const cancelled = await clerk.request(`/api/exams/${secondExam.examNumber}/cancel`, {
    method: 'POST',
    json: { reason: 'ordered twice' },
  });
  t.like(await json(cancelled), { status: 'cancelled' });
  const late = await clerk.request(`/api/exams/${secondExam.examNumber}`, {
    method: 'PATCH',
    json: { priority: 'routine' },
  });
  t.is(late.status, 409, 'a cancelled exam is not edited');
  const actions = (await server.audit.recent(10)).map((entry) => entry.action);
  t.deepEqual(actions.slice(0, 4), ['exam.cancel', 'exam.update', 'exam.register', 'exam.register']);
});

test('other roles, other facilities and a request without the CSRF token are refused with 403', async (t) => {
  const { as, exams } = await started(t);
  const clerk = await as('vg-clerk', ['customer'], ['VALLEYGEN']);
  const stranger = await as('other-clerk', ['customer'], ['OTHER']);
  const tech = await as('tech-maria', ['technician'], ['VALLEYGEN']);
  const exam = await json<{ examNumber: string }>(
    await clerk.request('/api/facilities/VALLEYGEN/exams', { method: 'POST', json: newPatient }),
  );

  const refused = [
    await stranger.request('/api/facilities/VALLEYGEN/exams', { method: 'POST', json: newPatient }),
    await stranger.request('/api/facilities/VALLEYGEN/patients?name=Ram'),
    await stranger.request(`/api/exams/${exam.examNumber}/cancel`, { method: 'POST', json: { reason: 'x' } }),
    await stranger.request(`/api/exams/${exam.examNumber}`),
    await tech.request('/api/facilities/VALLEYGEN/exams', { method: 'POST', json: newPatient }),
    await tech.request(`/api/exams/${exam.examNumber}`, { method: 'PATCH', json: { priority: 'stat' } }),
    await clerk.request(`/api/exams/${exam.examNumber}/claim`, { method: 'POST', json: {} }),
    await clerk.request('/api/technician/active'),
    await clerk.request(`/api/exceptions/${exam.examNumber}/dismiss`, { method: 'POST', json: { reason: 'x' } }),
    await clerk.request('/api/facilities/VALLEYGEN/billing?month=2026-01'),
    await tech.request('/api/facilities/VALLEYGEN/billing?month=2026-01'),
  ];
  t.deepEqual(
    refused.map((r) => r.status),
    refused.map(() => 403),
  );
  const noCsrf = await clerk.request(`/api/exams/${exam.examNumber}/cancel`, {
    method: 'POST',
    json: { reason: 'x' },
    csrf: false,
  });
  t.is(noCsrf.status, 403);
  t.like(await json(noCsrf), { code: 'csrf' });
  t.is((await exams.require(exam.examNumber)).status, 'requested', 'nothing refused changed the exam');
});

test('a technician claims an exam and works the exception list: attach a study, dismiss with a reason', async (t) => {
  const { as, exams, moved, server } = await started(t);
  const clerk = await as('vg-clerk', ['customer'], ['VALLEYGEN']);
  const tech = await as('tech-maria', ['technician'], ['VALLEYGEN']);
  const exam = await json<{ examNumber: string; patientId: string }>(
    await clerk.request('/api/facilities/VALLEYGEN/exams', { method: 'POST', json: newPatient }),
  );
  const active = await json<Array<{ examNumber: string }>>(await tech.request('/api/technician/active'));
  t.deepEqual(
    active.map((e) => e.examNumber),
    [exam.examNumber],
  );
  const claimed = await json(await tech.request(`/api/exams/${exam.examNumber}/claim`, { method: 'POST', json: {} }));
  t.like(claimed, { technicianId: 'tech-maria' });
  t.truthy((claimed as { acknowledgedAt?: string }).acknowledgedAt);

  // Images whose PatientID named no exam made an exam of their own, on the exception list.
  const stray = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: {
        identifiers: [{ system: 'urn:rso-hub:test', value: 'STRAY-1' }],
        name: { family: 'Ramirez', given: [] },
      },
      procedure: { code: 'CT' },
      origin: 'images',
      exception: 'PatientID has the form of an exam number that does not exist',
    },
    hl7Source,
  );
  await exams.attachStudy(
    stray.examNumber,
    { studyInstanceUid: '1.2.826.0.1.3680043.99.1', modality: 'CT' },
    hl7Source,
  );
  const other = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: {
        identifiers: [{ system: 'urn:rso-hub:test', value: 'STRAY-2' }],
        name: { family: 'Nobody', given: [] },
      },
      procedure: { code: 'CT' },
      origin: 'images',
      exception: 'no order matched',
    },
    hl7Source,
  );
  const list = await json<Array<{ examNumber: string }>>(await tech.request('/api/exceptions?facility=VALLEYGEN'));
  t.deepEqual(list.map((e) => e.examNumber).sort(), [stray.examNumber, other.examNumber].sort());

  const attached = await tech.request(`/api/exceptions/${stray.examNumber}/attach`, {
    method: 'POST',
    json: { examNumber: exam.examNumber },
  });
  t.is(attached.status, 200);
  const target = await exams.require(exam.examNumber);
  t.is(target.status, 'images-received');
  t.deepEqual(
    target.studies.map((s) => s.studyInstanceUid),
    ['1.2.826.0.1.3680043.99.1'],
  );
  t.like(await exams.require(stray.examNumber), { status: 'cancelled', studies: [] });
  t.deepEqual(moved, [`1.2.826.0.1.3680043.99.1>${exam.examNumber}`]);

  const noReason = await tech.request(`/api/exceptions/${other.examNumber}/dismiss`, {
    method: 'POST',
    json: { reason: ' ' },
  });
  t.like(await json(noReason), { status: 422, path: 'reason' });
  const dismissed = await tech.request(`/api/exceptions/${other.examNumber}/dismiss`, {
    method: 'POST',
    json: { reason: 'test images from the service engineer' },
  });
  t.like(await json(dismissed), { status: 'cancelled' });
  t.deepEqual(await json(await tech.request('/api/exceptions?facility=VALLEYGEN')), []);
  const history = (await exams.require(other.examNumber)).history.at(-1);
  t.is(history?.reason, 'exception dismissed: test images from the service engineer');
  const actions = (await server.audit.recent(3)).map((entry) => entry.action);
  t.deepEqual(actions, ['exception.dismiss', 'exception.attach', 'exam.claim']);
});

test('a technician merges the patient the images made into the exam’s patient; twice is a conflict', async (t) => {
  const { as, exams, server } = await started(t);
  const clerk = await as('vg-clerk', ['customer'], ['VALLEYGEN']);
  const tech = await as('tech-maria', ['technician'], ['VALLEYGEN']);
  const exam = await json<{ examNumber: string; patientId: string }>(
    await clerk.request('/api/facilities/VALLEYGEN/exams', { method: 'POST', json: newPatient }),
  );
  // The modality sent the patient under another id: the images made a patient and an exam of their own.
  const stray = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: {
        identifiers: [{ system: 'urn:rso-hub:test', value: 'STRAY-MERGE' }],
        name: { family: 'Rivera', given: ['Ana'] },
      },
      procedure: { code: 'CT' },
      origin: 'images',
      exception: 'no order matched',
    },
    hl7Source,
  );
  const strayPatient = (await exams.require(stray.examNumber)).patientId;
  t.not(strayPatient, exam.patientId);

  const unknown = await tech.request('/api/exceptions/RSO-2099-999999/merge', {
    method: 'POST',
    json: { examNumber: exam.examNumber },
  });
  t.is(unknown.status, 404);
  const merged = await tech.request(`/api/exceptions/${stray.examNumber}/merge`, {
    method: 'POST',
    json: { examNumber: exam.examNumber },
  });
  t.is(merged.status, 200);
  t.is((await exams.require(stray.examNumber)).patientId, exam.patientId, 'the stray exam now has the exam’s patient');
  t.is((await exams.require(exam.examNumber)).patientId, exam.patientId, 'the survivor keeps its patient');
  const again = await tech.request(`/api/exceptions/${stray.examNumber}/merge`, {
    method: 'POST',
    json: { examNumber: exam.examNumber },
  });
  t.like(await json(again), { status: 409, path: 'examNumber' });
  const [entry] = await server.audit.recent(1);
  t.is(entry?.action, 'exception.merge-patient');
  t.is(entry?.target, `exam:${stray.examNumber}`);
});

test('a client admin sees the month priced by the billing rules, as a table and as CSV', async (t) => {
  const { as, exams } = await started(t);
  const clerk = await as('vg-clerk', ['customer'], ['VALLEYGEN']);
  const billing = await as('vg-billing', ['client-admin'], ['VALLEYGEN']);
  const register = async (body: Record<string, unknown>) =>
    json<{ examNumber: string }>(
      await clerk.request('/api/facilities/VALLEYGEN/exams', { method: 'POST', json: body }),
    );
  const first = await register(newPatient);
  const exam = await exams.require(first.examNumber);
  const stat = await register({ patientId: exam.patientId, procedureCode: 'CTHEAD', modality: 'CT', priority: 'stat' });
  const xray = await register({ patientId: exam.patientId, procedureCode: 'XRCHEST', modality: 'CR' });
  const open = await register({ patientId: exam.patientId, procedureCode: 'MRKNEE', modality: 'MR' });
  for (const { examNumber } of [first, stat, xray])
    await exams.reports.create(
      { examNumber, state: 'final', author: 'rad-chen', findings: 'Normal.', impression: 'Normal.' },
      { actor: 'rad-chen', via: 'admin-ui' },
    );
  const month = new Date().toISOString().slice(0, 7);
  const answer = await billing.request(`/api/facilities/VALLEYGEN/billing?month=${month}`);
  t.is(answer.status, 200);
  const statement = await json<{
    lines: Array<{ examNumber: string; amount: number }>;
    totals: Record<string, number>;
  }>(answer);
  t.deepEqual(
    statement.lines.map((l) => [l.examNumber, l.amount]).sort(),
    [
      [first.examNumber, 60],
      [stat.examNumber, 95],
      [xray.examNumber, 40],
    ].sort(),
  );
  t.false(
    statement.lines.some((l) => l.examNumber === open.examNumber),
    'an exam without a final report is not billed',
  );
  t.deepEqual(statement.totals, { USD: 195 });
  const csv = await billing.request(`/api/facilities/VALLEYGEN/billing?month=${month}&format=csv`);
  t.regex(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = (await csv.text()).trimEnd().split('\r\n');
  t.is(lines[0], 'examNumber,reportedAt,procedureCode,procedure,modality,priority,amount,currency');
  t.is(lines.length, 4);
  t.true(
    lines.some((line) => line.startsWith(`${stat.examNumber},`) && line.endsWith(',CTHEAD,CTHEAD,CT,stat,95,USD')),
  );
  const badMonth = await billing.request('/api/facilities/VALLEYGEN/billing?month=2026-13');
  t.like(await json(badMonth), { status: 422, path: 'month' });
});
