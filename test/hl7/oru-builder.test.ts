import test from 'ava';
import { buildOru } from '../../hl7/oru-builder.ts';
import { readWithPythonHl7 } from '../support/python-hl7.ts';
import { testExam, testFacility, testPatient, testReport } from '../support/report-fixtures.ts';

const keys = [
  'MSH.F9.R1.C1',
  'MSH.F9.R1.C2',
  'MSH.F9.R1.C3',
  'MSH.F10',
  'MSH.F12',
  'MSH.F6',
  'PID.F3.R1.C1',
  'PID.F3.R1.C4',
  'PID.F3.R2.C1',
  'PID.F3.R2.C4',
  'PID.F5.R1.C1',
  'PID.F5.R1.C2',
  'PID.F5.R1.C3',
  'PID.F7',
  'PID.F8',
  'ORC.F1',
  'ORC.F2.R1.C1',
  'ORC.F2.R1.C2',
  'ORC.F3.R1.C1',
  'ORC.F3.R1.C2',
  'OBR.F2.R1.C1',
  'OBR.F3.R1.C1',
  'OBR.F4.R1.C1',
  'OBR.F4.R1.C2',
  'OBR.F4.R1.C3',
  'OBR.F18',
  'OBR.F22',
  'OBR.F25',
  'OBR.F32.R1.C1.S1',
  'OBR.F32.R1.C1.S2',
  'OBR.F32.R1.C1.S3',
  'OBR.F32.R1.C1.S6',
];

for (const version of ['2.3', '2.4', '2.5.1'] as const) {
  test(`a final report as ORU^R01 ${version} reads back field by field in python-hl7`, async (t) => {
    const text = buildOru({
      report: testReport(),
      exam: testExam(),
      patient: testPatient(),
      facility: testFacility(),
      version,
      controlId: 'CTRL-1',
      now: new Date('2026-12-01T10:16:00Z'),
    });
    const read = await readWithPythonHl7(text, keys);
    const f = read.fields;
    t.is(f['MSH.F9.R1.C1'], 'ORU');
    t.is(f['MSH.F9.R1.C2'], 'R01');
    t.is(f['MSH.F9.R1.C3'], version === '2.3' ? '' : 'ORU_R01');
    t.is(f['MSH.F10'], 'CTRL-1');
    t.is(f['MSH.F12'], version);
    t.is(f['MSH.F6'], 'VALLEYGEN');
    t.is(f['PID.F3.R1.C1'], 'MRN-1001');
    t.is(f['PID.F3.R1.C4'], 'VALLEYGEN', 'the facility gets back the authority code it sent, not our URI');
    t.is(f['PID.F3.R2.C1'], 'T-77');
    t.is(f['PID.F3.R2.C4'], 'TEC MRN');
    t.is(f['PID.F5.R1.C1'], "O'Brien^Smith", 'a delimiter in a name is escaped and reads back as itself');
    t.is(f['PID.F5.R1.C2'], 'Mary');
    t.is(f['PID.F5.R1.C3'], 'Ann');
    t.is(f['PID.F7'], '19610409');
    t.is(f['PID.F8'], 'F');
    t.is(f['ORC.F1'], 'RE');
    t.is(f['ORC.F2.R1.C1'], 'PL-555');
    t.is(f['ORC.F2.R1.C2'], 'VALLEY_RIS');
    t.is(f['ORC.F3.R1.C1'], 'E-1001', 'the exam number is the filler number when the order named none');
    t.is(f['ORC.F3.R1.C2'], 'RSO_HUB');
    t.is(f['OBR.F2.R1.C1'], 'PL-555');
    t.is(f['OBR.F3.R1.C1'], 'E-1001');
    t.is(f['OBR.F4.R1.C1'], 'CTHEAD');
    t.is(f['OBR.F4.R1.C2'], 'CT head without contrast');
    t.is(f['OBR.F4.R1.C3'], 'VGCM');
    t.is(f['OBR.F18'], 'ACC-9001');
    t.is(f['OBR.F22'], '20261201101500+0000');
    t.is(f['OBR.F25'], 'F');
    t.is(f['OBR.F32.R1.C1.S1'], 'rad-chen');
    t.is(f['OBR.F32.R1.C1.S2'], 'Chen');
    t.is(f['OBR.F32.R1.C1.S3'], 'Wei');
    t.is(f['OBR.F32.R1.C1.S6'], 'Dr.');
    t.is(read.segments['OBX'], 3, 'two lines of findings and one of impression');
    t.deepEqual(
      read.obx.map((o) => [o.type, o.code, o.subId, o.value, o.status]),
      [
        ['TX', '18782-3', '1', 'No acute intracranial haemorrhage.', 'F'],
        ['TX', '18782-3', '1', 'Ventricles normal | midline & symmetric ^ fine ~ ok \\ done.', 'F'],
        ['TX', '19005-8', '2', 'Normal CT of the head.', 'F'],
      ],
    );
  });
}

test('an amended report is a correction: OBR-25 and every OBX-11 are C', async (t) => {
  const text = buildOru({
    report: testReport({ state: 'amended', impression: 'Small left subdural haematoma.' }),
    exam: testExam(),
    patient: testPatient(),
    facility: testFacility(),
    version: '2.5.1',
    controlId: 'CTRL-2',
    now: new Date(),
  });
  const read = await readWithPythonHl7(text, ['OBR.F25']);
  t.is(read.fields['OBR.F25'], 'C');
  t.true(read.obx.every((o) => o.status === 'C'));
  t.is(read.obx.at(-1)?.value, 'Small left subdural haematoma.');
});

test('a preliminary report goes out as P with the order in progress', async (t) => {
  const text = buildOru({
    report: testReport({ state: 'preliminary' }),
    exam: testExam(),
    patient: testPatient(),
    facility: testFacility(),
    version: '2.4',
    controlId: 'CTRL-3',
    now: new Date(),
  });
  const read = await readWithPythonHl7(text, ['OBR.F25', 'ORC.F5']);
  t.is(read.fields['OBR.F25'], 'P');
  t.is(read.fields['ORC.F5'], 'IP');
});

test('the PDF rides in an OBX ED as base64 that decodes to the same bytes', async (t) => {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256))]);
  const text = buildOru({
    report: testReport(),
    exam: testExam(),
    patient: testPatient(),
    facility: testFacility(),
    version: '2.3',
    controlId: 'CTRL-4',
    now: new Date(),
    pdf,
  });
  const read = await readWithPythonHl7(text, []);
  const ed = read.obx.at(-1)!;
  t.is(ed.type, 'ED');
  t.is(ed.code, '18748-4');
  const [, type, subtype, encoding, data] = ed.value.split('^');
  t.deepEqual([type, subtype, encoding], ['AP', 'PDF', 'Base64']);
  t.deepEqual(Buffer.from(data!, 'base64'), pdf);
});

test('a draft or cancelled report is not an ORU', (t) => {
  for (const state of ['draft', 'cancelled', 'entered-in-error'] as const) {
    t.throws(
      () =>
        buildOru({
          report: testReport({ state }),
          exam: testExam(),
          patient: testPatient(),
          facility: testFacility(),
          version: '2.5.1',
          controlId: 'X',
          now: new Date(),
        }),
      { message: /not sent as ORU/ },
    );
  }
});
