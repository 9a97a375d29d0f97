// The worklist reads only the exams that can carry a single-value Accession Number, Patient ID (the MRN, at a
// facility whose PatientID is not the exam number) or Requested Procedure ID: whatever it narrows by, the answers
// must be those of the same query matched over every scheduled exam. Called in process, on the exam service and
// its embedded store, because the real-peer path (findscu -W through the hub) cannot show a facility of each kind
// at once; test/dicom/worklist.test.ts asks through dcmtk.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Dataset } from '../../dicom/dataset-codec.ts';
import { textOf } from '../../dicom/dataset-codec.ts';
import { worklistService } from '../../dicom/worklist.ts';
import { facilitiesDir, hl7Source, openTestHub } from '../exams/setup.ts';

const sps = '00400100';

function query(top: Record<string, string>, date = ''): Dataset {
  const step: Dataset = new Map([
    ['00080060', { vr: 'CS', value: '' }],
    ['00400002', { vr: 'DA', value: date }],
    ['00400009', { vr: 'SH', value: '' }],
  ]);
  return new Map([
    ['00080050', { vr: 'SH', value: top['AccessionNumber'] ?? '' }],
    ['00100010', { vr: 'PN', value: '' }],
    ['00100020', { vr: 'LO', value: top['PatientID'] ?? '' }],
    ['00401001', { vr: 'SH', value: top['RequestedProcedureID'] ?? '' }],
    [sps, { vr: 'SQ', value: [step] }],
  ]);
}

test('narrowed by accession, MRN or exam number, the worklist answers what matching every exam answers', async (t) => {
  const { exams } = await openTestHub(t);
  const valley = JSON.parse(await readFile(path.join(facilitiesDir, 'valley-general.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  await exams.facilities.save({
    ...valley,
    code: 'MRNFAC',
    name: 'MRN Facility',
    aeTitles: ['MRN_CT'],
    sendingFacilities: ['MRNFAC'],
    coercion: { patientIdFromExamNumber: false },
    identitySystems: { authorities: { MRNFAC: 'urn:mrnfac:mrn' } },
  });
  const order = async (mrn: string, day: number, accession?: string): Promise<string> => {
    const exam = await exams.createOrder(
      {
        facility: 'MRNFAC',
        patient: { identifiers: [{ system: 'urn:mrnfac:mrn', value: mrn }], name: { family: `P${mrn}`, given: [] } },
        ...(accession === undefined ? {} : { identifiers: [{ kind: 'accession' as const, value: accession }] }),
        procedure: { code: 'CTCHEST', text: 'CT chest' },
        modality: 'CT',
        scheduledAt: `2027-03-0${day}T09:00:00Z`,
      },
      hl7Source,
    );
    return exam.examNumber;
  };
  const a = await order('M-1', 2, 'ACC-1');
  const b = await order('M-1', 1);
  await order('M-2', 3, 'ACC-10');
  const d = await order('M-3', 1, 'ACC-2');
  await order('M-3', 4, b);

  const ask = async (identifier: Dataset): Promise<string[]> => {
    const found: string[] = [];
    const service = worklistService(exams);
    for await (const answer of service({
      callingAe: 'MRN_CT',
      sopClassUid: '1.2.840.10008.5.1.4.31',
      identifier,
      cancelled: () => false,
    }))
      found.push(`${textOf(answer, '00401001')}:${textOf(answer, '00080050')}:${textOf(answer, '00100020')}`);
    return found;
  };
  const everything = await ask(query({}));
  t.is(everything.length, 5);
  const matching = (keep: (line: string[]) => boolean): string[] => everything.filter((line) => keep(line.split(':')));

  const cases: Array<[string, Record<string, string>, (line: string[]) => boolean, number]> = [
    ['accession', { AccessionNumber: 'ACC-1' }, ([, acc]) => acc === 'ACC-1', 1],
    ['exam number as accession', { AccessionNumber: b }, ([, acc]) => acc === b, 2],
    ['MRN', { PatientID: 'M-1' }, ([, , mrn]) => mrn === 'M-1', 2],
    ['exam number', { RequestedProcedureID: d }, ([id]) => id === d, 1],
    ['accession and MRN', { AccessionNumber: 'ACC-1', PatientID: 'M-2' }, () => false, 0],
    ['wildcard accession', { AccessionNumber: 'ACC-1*' }, ([, acc]) => acc!.startsWith('ACC-1'), 2],
    ['unknown', { AccessionNumber: 'NOPE' }, () => false, 0],
  ];
  for (const [name, top, keep, count] of cases) {
    const answers = await ask(query(top));
    t.deepEqual(answers, matching(keep), name);
    t.is(answers.length, count, name);
  }
  t.deepEqual(
    (await ask(query({ PatientID: 'M-1' }))).map((line) => line.split(':')[0]),
    [b, a],
    'in scheduled order',
  );
  t.deepEqual(await ask(query({ AccessionNumber: 'ACC-1' }, '20270301')), [], 'and the date still applies');
});
