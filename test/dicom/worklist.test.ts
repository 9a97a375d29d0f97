// The Modality Worklist through the real hub: orders arrive by HL7 (ORM^O01 over MLLP), a modality asks with
// dcmtk's `findscu -W` and a query file made by dump2dcm, and gets the facility's scheduled exams with the RSO exam
// number as PatientID; a cancelled order is gone; images sent with the worklist's tags are matched by exam number.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Bundle, ImagingStudy, ServiceRequest } from '@medplum/fhirtypes';
import dcmjs from 'dcmjs';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { fhir, hubAe, imagingStudy, startOrdersHub, storescu, writeStudy } from '../hub/dicom-support.ts';
import { until } from '../support/channels.ts';
import { stopHub, tempDir, type HubProcess } from '../support/hub-process.ts';
import { missingBinaries, runTool, type CommandResult } from './peers.ts';

const missing = missingBinaries(['findscu', 'dump2dcm', 'storescu']);
const dcmtkTest = missing.length === 0 ? test.serial : test.skip;
let hub: HubProcess | undefined;
let mllpPort = 0;

test.before(async () => {
  if (missing.length === 0) ({ hub, mllpPort } = await startOrdersHub());
});

test.after.always(async () => {
  if (hub) await stopHub(hub, 'SIGKILL');
});

function started(): HubProcess {
  if (!hub) throw new Error('the hub did not start');
  return hub;
}

interface OrderSpec {
  placer: string;
  control?: 'NW' | 'CA';
  patient: string;
  mrn: string;
  modality: string;
  scheduled: string;
  accession?: string;
}

/** ORM^O01 with the fields the hub maps: PID-3/5/7/8, ORC-1..3, OBR-4, OBR-18 accession, OBR-24, OBR-36. */
function orm(order: OrderSpec): Buffer {
  const obr: string[] = ['OBR', '1', `${order.placer}^VALLEY_RIS`, '', '74150^CT ABDOMEN WO CONTRAST^CPT4'];
  obr[18] = order.accession ?? '';
  obr[24] = order.modality;
  obr[36] = order.scheduled;
  const segments = [
    `MSH|^~\\&|RIS|VALLEYGEN|RSO_HUB|RSO|20240517110000||ORM^O01^ORM_O01|${order.placer}-${order.control ?? 'NW'}|P|2.5.1`,
    `PID|1||${order.mrn}^^^VALLEYGEN^MR||${order.patient}||19750304|F`,
    `ORC|${order.control ?? 'NW'}|${order.placer}^VALLEY_RIS|||SC`,
    Array.from(obr, (field) => field ?? '').join('|'),
  ];
  return Buffer.from(`${segments.join('\r')}\r`, 'utf8');
}

async function send(order: OrderSpec): Promise<void> {
  const client = await MllpTestClient.connect(mllpPort);
  try {
    const ack = await client.exchange(orm(order));
    if (ack.get('MSA-1') !== 'AA') throw new Error(`${order.placer} not accepted: ${ack.toString()}`);
  } finally {
    await client.close();
  }
}

async function examNumberOf(placer: string, status = 'active'): Promise<string> {
  let id: string | undefined;
  await until(
    async () => {
      const bundle = await fhir<Bundle<ServiceRequest>>(started(), `ServiceRequest?identifier=${placer}`);
      const request = bundle.entry?.[0]?.resource;
      id = request?.status === status ? request.id : undefined;
      return id !== undefined;
    },
    15_000,
    `ServiceRequest ${placer} ${status}`,
  );
  return id!;
}

const queryDump = (step: Record<string, string>, top: Record<string, string> = {}) =>
  [
    '(0008,0050) SH []',
    `(0010,0010) PN [${top['PatientName'] ?? ''}]`,
    `(0010,0020) LO [${top['PatientID'] ?? ''}]`,
    '(0010,0030) DA []',
    '(0010,0040) CS []',
    '(0020,000d) UI []',
    '(0032,1060) LO []',
    '(0040,1001) SH []',
    '(0040,0100) SQ (Sequence with undefined length #=1)',
    '(fffe,e000) na (Item with undefined length #=6)',
    `(0008,0060) CS [${step['Modality'] ?? ''}]`,
    `(0040,0001) AE [${step['StationAE'] ?? ''}]`,
    `(0040,0002) DA [${step['Date'] ?? ''}]`,
    '(0040,0003) TM []',
    '(0040,0007) LO []',
    '(0040,0009) SH []',
    '(fffe,e00d) na (ItemDelimitationItem)',
    '(fffe,e0dd) na (SequenceDelimitationItem)',
    '',
  ].join('\n');

type Answer = Record<string, { Value?: unknown[] }>;

/** Runs findscu -W with the query; returns its log and the answers it extracted (-X). */
async function worklist(
  dump: string,
  options: { ae?: string; extra?: string[] } = {},
): Promise<{ result: CommandResult; answers: Answer[] }> {
  const dir = await tempDir('mwl');
  await writeFile(path.join(dir, 'query.dump'), dump);
  const made = await runTool('dump2dcm', [path.join(dir, 'query.dump'), path.join(dir, 'query.wl')]);
  if (made.code !== 0) throw new Error(`dump2dcm: ${made.stderr}`);
  const out = path.join(dir, 'out');
  await runTool('mkdir', [out]);
  const result = await runTool('findscu', [
    '-v',
    '-W',
    '-X',
    '-od',
    out,
    '-aet',
    options.ae ?? 'VALLEY_CT',
    '-aec',
    hubAe,
    ...(options.extra ?? []),
    '127.0.0.1',
    String(started().dicomPort),
    path.join(dir, 'query.wl'),
  ]);
  const answers: Answer[] = [];
  for (const name of (await readdir(out)).sort()) {
    const bytes = await readFile(path.join(out, name));
    answers.push(
      dcmjs.data.DicomMessage.readFile(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
      ).dict,
    );
  }
  return { result, answers };
}

const value = (answer: Answer | undefined, tag: string): unknown => answer?.[tag]?.Value?.[0];
const step = (answer: Answer | undefined): Answer => (answer?.['00400100']?.Value?.[0] ?? {}) as Answer;

dcmtkTest('a modality gets its scheduled exams with the exam number, and a cancelled order disappears', async (t) => {
  await send({
    placer: 'MWL-1',
    patient: 'WORK^LISA',
    mrn: 'MW001',
    modality: 'CT',
    scheduled: '202406010930',
    accession: 'ACC-MWL-1',
  });
  await send({ placer: 'MWL-2', patient: 'WORK^MARK', mrn: 'MW002', modality: 'MR', scheduled: '202406011000' });
  await send({ placer: 'MWL-3', patient: 'WORK^NINA', mrn: 'MW003', modality: 'CT', scheduled: '202406020800' });
  const first = await examNumberOf('MWL-1');
  const third = await examNumberOf('MWL-3');

  const { result, answers } = await worklist(queryDump({ Modality: 'CT', Date: '20240601' }));
  t.is(result.code, 0, result.stderr);
  t.is(answers.length, 1);
  const [lisa] = answers;
  t.is(value(lisa, '00100020'), first);
  t.deepEqual(value(lisa, '00100010'), { Alphabetic: 'WORK^LISA' });
  t.is(value(lisa, '00100030'), '19750304');
  t.is(value(lisa, '00100040'), 'F');
  t.is(value(lisa, '00080050'), 'ACC-MWL-1');
  t.is(value(lisa, '00401001'), first);
  t.is(value(lisa, '00321060'), 'CT ABDOMEN WO CONTRAST');
  t.is(value(step(lisa), '00080060'), 'CT');
  t.is(value(step(lisa), '00400001'), 'VALLEY_CT');
  t.is(value(step(lisa), '00400002'), '20240601');
  t.is(value(step(lisa), '00400003'), '093000');

  const all = await worklist(queryDump({ Date: '20240601-20240602' }, { PatientName: 'work^*' }));
  t.deepEqual(all.answers.map((a) => value(a, '00100020')).sort(), [first, await examNumberOf('MWL-2'), third].sort());
  const otherStation = await worklist(queryDump({ StationAE: 'VALLEY_MR' }));
  t.is(otherStation.answers.length, 0);

  await send({
    placer: 'MWL-3',
    control: 'CA',
    patient: 'WORK^NINA',
    mrn: 'MW003',
    modality: 'CT',
    scheduled: '202406020800',
  });
  await examNumberOf('MWL-3', 'revoked');
  const after = await worklist(queryDump({ Modality: 'CT' }, { PatientName: 'WORK^NINA' }));
  t.is(after.answers.length, 0);
});

dcmtkTest('images sent with the worklist tags are matched by exam number, with no hand edit', async (t) => {
  await send({ placer: 'MWL-10', patient: 'SCAN^OLGA', mrn: 'MW010', modality: 'CT', scheduled: '202406050900' });
  const examNumber = await examNumberOf('MWL-10');
  const [answer] = (await worklist(queryDump({}, { PatientName: 'SCAN^OLGA' }))).answers;
  t.is(value(answer, '00100020'), examNumber);
  const study = await writeStudy(2, {
    patientId: String(value(answer, '00100020')),
    patientName: 'SCAN^OLGA',
    accessionNumber: String(value(answer, '00080050')),
    studyInstanceUid: String(value(answer, '0020000D')),
  });
  t.is((await storescu(started(), 'VALLEY_CT', study.files)).code, 0);
  let imaging: ImagingStudy | undefined;
  await until(
    async () => {
      imaging = await imagingStudy(started(), study.studyInstanceUid);
      return imaging !== undefined;
    },
    15_000,
    'the study',
  );
  t.is(imaging?.basedOn?.[0]?.reference, `ServiceRequest/${examNumber}`);
  const match = imaging?.extension?.find((e) => e.url === 'urn:rso-hub:fhir:StructureDefinition:study-match');
  t.is(match?.valueCode, 'exam-number');
  // Imaged: no longer scheduled.
  t.is((await worklist(queryDump({}, { PatientName: 'SCAN^OLGA' }))).answers.length, 0);
});

dcmtkTest('a stranger is refused, a bad date fails the query, and C-CANCEL stops the answers', async (t) => {
  const stranger = await worklist(queryDump({}), { ae: 'STRANGER_AE' });
  t.regex(`${stranger.result.stdout}${stranger.result.stderr}`, /Association Rejected/i);

  const bad = await worklist(queryDump({ Date: '2024-06-01' }));
  t.regex(`${bad.result.stdout}${bad.result.stderr}`, /DataSetDoesNotMatchSOPClass/);
  t.is(bad.answers.length, 0);

  for (let i = 0; i < 30; i++)
    await send({
      placer: `MWL-C${i}`,
      patient: `MANY^P${i}`,
      mrn: `MC${i}`,
      modality: 'CR',
      scheduled: '202407010800',
    });
  await examNumberOf('MWL-C29');
  const full = await worklist(queryDump({ Modality: 'CR' }));
  t.is(full.answers.length, 30);
  const cancelled = await worklist(queryDump({ Modality: 'CR' }), { extra: ['--cancel', '1'] });
  t.regex(`${cancelled.result.stdout}${cancelled.result.stderr}`, /Cancel/);
  t.true(cancelled.answers.length < 30, `${cancelled.answers.length} answers after C-CANCEL`);
});
