// Table-driven: every message in test/fixtures/hl7/orders and adt goes through the rso-exams destination on a
// real embedded store, after the messages its expected.json lists under `after` (sequences such as NW, XO,
// CA on one order), and must leave the exams and patients its expected.json describes, or fail with its error.
// The destination's check runs first and must refuse exactly what expected.json's `refusal` says (and nothing
// else: a message the destination takes must not be refused before its ACK).
import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExamIdentifierKind } from '../../../exams/exam.ts';
import type { ExamService } from '../../../exams/service.ts';
import { checkFixture, examDestination, mappingFixtures, openMappingHub, sendFixture } from './exam-hub.ts';

interface PatientKey {
  system: string;
  value: string;
}

interface ExpectedExam {
  find: { facility: string; kind: ExamIdentifierKind; value: string; system?: string };
  patient?: PatientKey;
  expect?: Record<string, unknown>;
  absent?: string[];
}

interface ExpectedPatient {
  find: PatientKey;
  expect?: Record<string, unknown>;
  mergedInto?: PatientKey;
}

interface Expected {
  description: string;
  settings?: unknown;
  after?: string[];
  result: 'sent' | 'failed' | 'retry';
  response?: string;
  error?: string;
  /** What the check answers before the ACK: HL7 AE ('error') or AR ('rejected'), table 0357 code, ERR location. */
  refusal?: { kind: string; code: string; path: string };
  examCount?: number;
  exams?: ExpectedExam[];
  patients?: ExpectedPatient[];
}

const defaultSettings = { timeZone: 'America/Chicago' };

function fixtureNames(folder: string): string[] {
  return readdirSync(path.join(mappingFixtures, folder))
    .filter((name) => name.endsWith('.hl7'))
    .map((name) => `${folder}/${name}`)
    .sort();
}

const all = [...fixtureNames('orders'), ...fixtureNames('adt')];

test('there are at least 20 fixtures, each with its expected state', (t) => {
  t.true(all.length >= 20, `${all.length} fixtures`);
  for (const name of all) t.notThrows(() => readExpected(name), name);
});

function readExpected(name: string): Expected {
  return JSON.parse(
    readFileSync(path.join(mappingFixtures, name.replace(/\.hl7$/, '.expected.json')), 'utf8'),
  ) as Expected;
}

async function patientIdOf(t: ExecutionContext, exams: ExamService, key: PatientKey): Promise<string | undefined> {
  const patient = await exams.patients.findByIdentifier(key.system, key.value);
  t.truthy(patient, `a patient with ${key.system}|${key.value}`);
  return patient && (await exams.patients.resolve(patient._id))._id;
}

async function checkExam(t: ExecutionContext, exams: ExamService, expected: ExpectedExam): Promise<void> {
  const { facility, kind, value, system } = expected.find;
  const exam = await exams.findByIdentifier(facility, kind, value, system);
  if (!exam) return void t.fail(`no exam at ${facility} with ${kind} ${value}`);
  if (expected.expect) t.like(exam as unknown as Record<string, unknown>, expected.expect, `exam ${kind} ${value}`);
  for (const key of expected.absent ?? []) t.false(key in exam, `exam ${kind} ${value} has no ${key}`);
  if (expected.patient)
    t.is<string | undefined, string | undefined>(
      exam.patientId,
      await patientIdOf(t, exams, expected.patient),
      `exam ${kind} ${value} belongs to ${expected.patient.value}`,
    );
}

async function checkPatient(t: ExecutionContext, exams: ExamService, expected: ExpectedPatient): Promise<void> {
  const patient = await exams.patients.findByIdentifier(expected.find.system, expected.find.value);
  if (!patient) return void t.fail(`no patient ${expected.find.system}|${expected.find.value}`);
  if (expected.expect)
    t.like(patient as unknown as Record<string, unknown>, expected.expect, `patient ${expected.find.value}`);
  if (expected.mergedInto)
    t.is<string | undefined, string | undefined>(
      patient.mergedInto,
      await patientIdOf(t, exams, expected.mergedInto),
      `patient ${expected.find.value} merged`,
    );
}

for (const name of all) {
  const expected = readExpected(name);
  test(`${name}: ${expected.description}`, async (t) => {
    const { exams } = await openMappingHub(t);
    const destination = examDestination(exams, expected.settings ?? defaultSettings);
    for (const before of expected.after ?? []) {
      const result = await sendFixture(destination, before);
      t.is(result.status, 'sent', `${before} first: ${result.status === 'sent' ? '' : result.error}`);
    }
    const refusal = await checkFixture(destination, name);
    if (expected.refusal === undefined) t.is(refusal, undefined, `refused before the ACK: ${refusal?.error}`);
    else {
      t.like(refusal, expected.refusal, 'the refusal before the ACK');
      t.true(refusal?.error.includes(expected.error ?? ''), `the refusal "${refusal?.error}" says "${expected.error}"`);
    }
    const result = await sendFixture(destination, name);
    t.is(result.status, expected.result, result.status === 'sent' ? result.response : result.error);
    if (expected.error !== undefined)
      t.true(
        result.status !== 'sent' && result.error.includes(expected.error),
        `error "${result.status === 'sent' ? '' : result.error}" says "${expected.error}"`,
      );
    if (expected.response !== undefined)
      t.true(
        result.status === 'sent' && (result.response ?? '').includes(expected.response),
        `response "${result.status === 'sent' ? result.response : ''}" says "${expected.response}"`,
      );
    if (expected.examCount !== undefined)
      t.is((await exams.findExams({ limit: 0 })).total, expected.examCount, 'number of exams');
    for (const exam of expected.exams ?? []) await checkExam(t, exams, exam);
    for (const patient of expected.patients ?? []) await checkPatient(t, exams, patient);
  });
}
