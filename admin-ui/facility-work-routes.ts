// The facility user's work over HTTP: find a patient, register a patient with an exam request or add an exam for
// a known patient, change an exam's details while its lifecycle allows, and cancel it with a reason. The hub
// assigns the exam number. Orders go through the same exam-domain checks FHIR ServiceRequest and Patient creates
// use (checkNewPatient, checkOrder, createOrder), so a form gets the same refusals, each naming its field; a new
// patient is written only after the order passed its checks.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { requireRole } from '../http/auth.ts';
import { readJson } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import type { OrderChanges, OrderInput } from '../exams/exam.ts';
import { authoritySystem } from '../exams/identity-systems.ts';
import type { PatientInput } from '../exams/patient.ts';
import type { ExamService } from '../exams/service.ts';
import { ValidationError, expectKeys, expectObject, expectString, type Plain } from '../runtime/validate.ts';
import type { AuditLog } from './audit.ts';
import { checkFacility, examErrors, examView, scopedExam, workSource, workUser } from './work-scope.ts';

const facilityRoles = requireRole('admin', 'client-admin', 'customer');
const bodyLimit = 64 * 1024;
const orderKeys = [
  'procedureCode',
  'procedureText',
  'modality',
  'priority',
  'scheduledAt',
  'reason',
  'accessionNumber',
];

/** A form field: absent, null and blank are all "not given". */
function text(raw: Plain, key: string, at = key): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ValidationError(at, 'expected text');
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

async function patientInput(raw: Plain, facility: string, exams: ExamService): Promise<PatientInput> {
  expectKeys(raw, 'patient', ['mrn', 'family', 'given', 'birthDate', 'sex']);
  const owner = await exams.facilities.require(facility);
  const mrn = text(raw, 'mrn', 'patient.mrn');
  const family = text(raw, 'family', 'patient.family');
  if (family === undefined) throw new ValidationError('patient.family', 'the family name is required');
  const given = text(raw, 'given', 'patient.given');
  const birthDate = text(raw, 'birthDate', 'patient.birthDate');
  const sex = text(raw, 'sex', 'patient.sex');
  return {
    identifiers: mrn === undefined ? [] : [{ system: authoritySystem(owner, undefined), value: mrn, facility }],
    name: { family, given: given === undefined ? [] : given.split(/\s+/) },
    ...(birthDate === undefined ? {} : { birthDate }),
    ...(sex === undefined ? {} : { sex: sex as NonNullable<PatientInput['sex']> }),
  };
}

function orderFields(raw: Plain): Omit<OrderInput, 'facility' | 'patient'> {
  const code = text(raw, 'procedureCode');
  const procedureText = text(raw, 'procedureText');
  const modality = text(raw, 'modality');
  const priority = text(raw, 'priority');
  const scheduledAt = text(raw, 'scheduledAt');
  const reason = text(raw, 'reason');
  const accession = text(raw, 'accessionNumber');
  return {
    procedure: { code: code ?? '', ...(procedureText === undefined ? {} : { text: procedureText }) },
    ...(modality === undefined ? {} : { modality: modality.toUpperCase() }),
    ...(priority === undefined ? {} : { priority: priority as NonNullable<OrderInput['priority']> }),
    ...(scheduledAt === undefined ? {} : { scheduledAt }),
    ...(reason === undefined ? {} : { reason }),
    ...(accession === undefined ? {} : { identifiers: [{ kind: 'accession' as const, value: accession }] }),
  };
}

/** Domain paths as the form names its fields: a new patient's MRN is `patient.mrn`, the procedure code `procedureCode`. */
const formPaths: ReadonlyArray<[RegExp, string]> = [
  [/^patient\.identifiers(\[\d+\])?(\.value)?$/, 'patient.mrn'],
  [/^procedure\.code$/, 'procedureCode'],
];

const renamed: Middleware = async (_ctx, next) => {
  try {
    await next();
  } catch (error) {
    const rule = error instanceof HttpError ? formPaths.find(([pattern]) => pattern.test(error.path ?? '')) : undefined;
    if (!(error instanceof HttpError) || rule === undefined) throw error;
    const message = error.message.replace(error.path ?? '', rule[1]);
    throw new HttpError(error.status, message, { code: error.code ?? 'invalid', path: rule[1], cause: error });
  }
};

async function register(ctx: Context, exams: ExamService, audit: AuditLog): Promise<void> {
  const code = ctx.params['code']!;
  checkFacility(ctx, code);
  const body = expectObject(await readJson(ctx, bodyLimit), '');
  expectKeys(body, '', ['patient', 'patientId', ...orderKeys]);
  const order = { facility: code, ...orderFields(body) };
  const by = workSource(ctx);
  const patientId = text(body, 'patientId');
  let id: string;
  if (patientId !== undefined) {
    const known = await exams.findPatients({ ids: [patientId], facilities: [code], limit: 1 });
    if (known.items.length === 0)
      throw new HttpError(404, `patient ${patientId} has no exam at ${code}`, { code: 'not-found', path: 'patientId' });
    id = patientId;
    await exams.checkOrder({ ...order, patient: { id } });
  } else {
    const input = await patientInput(expectObject(body['patient'], 'patient'), code, exams);
    if (input.identifiers.length === 0)
      throw new ValidationError('patient.mrn', 'the medical record number is required');
    await exams.checkNewPatient(input);
    await exams.checkOrder(order);
    id = (await exams.createPatient(input, by))._id;
  }
  const exam = await exams.createOrder({ ...order, patient: { id } }, by);
  await audit.record(workUser(ctx).name, 'exam.register', `exam:${exam.examNumber}`, { facility: code, patientId: id });
  ctx.status = 201;
  ctx.set('ETag', `"${exam.version}"`);
  ctx.body = examView(exam);
}

function changesOf(body: Plain): OrderChanges {
  expectKeys(body, '', ['procedureCode', 'procedureText', 'modality', 'priority', 'scheduledAt', 'reason']);
  const changes: OrderChanges = {};
  const code = text(body, 'procedureCode');
  if (body['procedureCode'] !== undefined || body['procedureText'] !== undefined) {
    if (code === undefined) throw new ValidationError('procedureCode', 'the procedure code is required');
    const procedureText = text(body, 'procedureText');
    changes.procedure = { code, ...(procedureText === undefined ? {} : { text: procedureText }) };
  }
  for (const key of ['modality', 'scheduledAt', 'reason'] as const)
    if (body[key] !== undefined) changes[key] = text(body, key) ?? null;
  if (changes.modality) changes.modality = changes.modality.toUpperCase();
  const priority = text(body, 'priority');
  if (priority !== undefined) changes.priority = priority as NonNullable<OrderChanges['priority']>;
  return changes;
}

function expectedVersion(ctx: Context): { expectedVersion?: number } {
  const header = ctx.get('if-match');
  if (header === '') return {};
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match)
    throw new HttpError(400, `If-Match: expected "<version>", got ${header}`, { code: 'invalid', path: 'If-Match' });
  return { expectedVersion: Number(match[1]) };
}

export function createFacilityWorkRouter(exams: ExamService, auth: Middleware, audit: AuditLog): Router {
  const router = new Router({ prefix: '/api' });
  router.use(auth);

  router.get('/facilities/:code/patients', facilityRoles, async (ctx) => {
    const code = ctx.params['code']!;
    checkFacility(ctx, code);
    const q = (key: string) =>
      typeof ctx.query[key] === 'string' && ctx.query[key] !== '' ? ctx.query[key] : undefined;
    const [name, mrn, birthDate] = [q('name'), q('mrn'), q('birthDate')];
    if (name === undefined && mrn === undefined && birthDate === undefined)
      throw new ValidationError('name', 'search by name, medical record number or birth date');
    const page = await exams.findPatients({
      facilities: [code],
      ...(name === undefined ? {} : { family: name }),
      ...(mrn === undefined ? {} : { identifier: { value: mrn } }),
      ...(birthDate === undefined ? {} : { birthDate }),
      limit: 50,
    });
    ctx.body = page.items.map((p) => ({
      id: p._id,
      name: p.name,
      birthDate: p.birthDate ?? null,
      sex: p.sex ?? null,
      mrns: p.identifiers.filter((i) => i.facility === undefined || i.facility === code).map((i) => i.value),
    }));
  });

  router.post('/facilities/:code/exams', facilityRoles, renamed, examErrors, (ctx) => register(ctx, exams, audit));

  router.get('/exams/:examNumber', async (ctx) => {
    const exam = await scopedExam(ctx, exams, ctx.params['examNumber']!);
    const patient = await exams.patients.get(exam.patientId);
    ctx.set('ETag', `"${exam.version}"`);
    ctx.body = {
      ...examView(exam),
      patient: patient ? { id: patient._id, name: patient.name, birthDate: patient.birthDate ?? null } : null,
    };
  });

  router.patch('/exams/:examNumber', facilityRoles, renamed, examErrors, async (ctx) => {
    const exam = await scopedExam(ctx, exams, ctx.params['examNumber']!);
    const changes = changesOf(expectObject(await readJson(ctx, bodyLimit), ''));
    const before = examView(exam);
    const after = await exams.updateOrder(exam.examNumber, changes, workSource(ctx), expectedVersion(ctx));
    await audit.record(workUser(ctx).name, 'exam.update', `exam:${exam.examNumber}`, undefined, {
      before,
      after: examView(after),
    });
    ctx.set('ETag', `"${after.version}"`);
    ctx.body = examView(after);
  });

  router.post('/exams/:examNumber/cancel', facilityRoles, examErrors, async (ctx) => {
    const exam = await scopedExam(ctx, exams, ctx.params['examNumber']!);
    const body = expectObject(await readJson(ctx, bodyLimit), '');
    expectKeys(body, '', ['reason']);
    const reason = expectString(body['reason'], 'reason').trim();
    if (reason === '') throw new ValidationError('reason', 'say why the exam is cancelled');
    const after = await exams.cancel(exam.examNumber, workSource(ctx), { ...expectedVersion(ctx), reason });
    await audit.record(workUser(ctx).name, 'exam.cancel', `exam:${exam.examNumber}`, { reason });
    ctx.body = examView(after);
  });

  return router;
}
