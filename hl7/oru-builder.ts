// ORU^R01 (v2.5.1 ch. 7.3.1; the same segments in 2.3 and 2.4) for one radiology report, as a facility's EHR
// files it: MSH, PID, ORC RE (observations to follow), one OBR carrying the order's placer, filler and
// accession numbers (IHE RAD puts the accession in OBR-18), the report status in OBR-25 and the radiologist in
// OBR-32, then one OBX TX per line of findings and impression (LOINC narrative codes, text escaped per ch. 2.7)
// and, when the EHR wants it, the PDF as an OBX ED in base64. One OBX per line rather than one OBX with
// repeated OBX-5: older EHRs show only the first repetition, while every one of them lists OBX in order.
import type { Exam, ExamIdentifier } from '../exams/exam.ts';
import type { Facility } from '../exams/facility.ts';
import type { Patient, Sex } from '../exams/patient.ts';
import type { Report, ReportState } from '../exams/report.ts';
import type { OruVersion } from '../exams/report-destinations.ts';
import { defaultDelimiters, delimiterText } from './escape.ts';
import { codeOfSystem, components, hl7Date, hl7Timestamp, nameParts, subcomponents } from './oru-fields.ts';

/** LOINC codes of the report's parts (the ones radiology ORUs use for narrative sections). */
export const oruObservationCodes = {
  findings: { code: '18782-3', display: 'Radiology Study observation (narrative)' },
  impression: { code: '19005-8', display: 'Radiology Imaging study [Impression] (narrative)' },
  document: { code: '18748-4', display: 'Diagnostic imaging study' },
} as const;

/** OBR-25 (table 0123) and OBX-11 (table 0085) of the states that go out: an amendment is a correction. */
const resultStatus: Partial<Record<ReportState, 'P' | 'F' | 'C'>> = {
  preliminary: 'P',
  final: 'F',
  amended: 'C',
};

export function oruResultStatus(state: ReportState): 'P' | 'F' | 'C' | undefined {
  return resultStatus[state];
}

export interface OruInput {
  report: Report;
  exam: Exam;
  patient: Patient;
  facility: Facility;
  version: OruVersion;
  controlId: string;
  /** MSH-7. */
  now: Date;
  /** The facility's PDF of the report, sent as OBX ED when given. */
  pdf?: Buffer;
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
}

const d = defaultDelimiters;

const sexCode: Readonly<Record<Sex, string>> = { male: 'M', female: 'F', other: 'O', unknown: 'U' };

/** The ORU^R01 as text with CR segment ends; throws for a report state that has no OBR-25 (draft, cancelled...). */
export function buildOru(input: OruInput): string {
  const status = oruResultStatus(input.report.state);
  if (status === undefined) throw new Error(`a ${input.report.state} report is not sent as ORU^R01`);
  const segments = [msh(input), pid(input), orc(input), obr(input, status), ...observations(input, status)];
  return `${segments.map((fields) => fields.join(d.field)).join('\r')}\r`;
}

function msh(input: OruInput): string[] {
  const structure = input.version === '2.3' ? components(d, 'ORU', 'R01') : components(d, 'ORU', 'R01', 'ORU_R01');
  const fields = [
    'MSH',
    delimiterText(d).slice(1),
    components(d, input.sendingApplication ?? 'RSO_HUB'),
    components(d, input.sendingFacility ?? 'RSO'),
    components(d, input.receivingApplication),
    components(d, input.receivingFacility ?? input.facility.sendingFacilities[0] ?? input.facility.code),
    hl7Timestamp(input.now.toISOString()),
    '',
    structure,
    components(d, input.controlId),
    'P',
    input.version,
  ];
  // MSH-18 (table 0211): text may hold any character a name or a dictation has.
  fields[17] = 'UNICODE UTF-8';
  return fill(fields);
}

function pid(input: OruInput): string[] {
  const { patient, facility } = input;
  const ids = patient.identifiers.map((id) => {
    const hd = codeOfSystem(facility.code, facility.identitySystems, 'authorities', id.system);
    const authority = subcomponents(d, hd.namespace, hd.universalId, hd.universalIdType);
    return components(d, id.value, undefined, undefined, authority, id.type?.code ?? 'MR');
  });
  const name = components(
    d,
    patient.name.family,
    patient.name.given[0],
    patient.name.given.slice(1).join(' ') || undefined,
  );
  const fields = ['PID', '1', '', ids.join(d.repetition), '', name, '', hl7Date(patient.birthDate)];
  fields[8] = patient.sex === undefined ? '' : sexCode[patient.sex];
  return fill(fields);
}

/** EI: the number and its namespace code (EI-2), as the order came. */
function entity(input: OruInput, id: ExamIdentifier | undefined): string {
  if (id === undefined) return '';
  const { facility } = input;
  const hd =
    id.system === undefined ? {} : codeOfSystem(facility.code, facility.identitySystems, 'namespaces', id.system);
  return components(d, id.value, hd.namespace, hd.universalId, hd.universalIdType);
}

function identifiers(exam: Exam) {
  const of = (kind: ExamIdentifier['kind']) => exam.identifiers.find((i) => i.kind === kind);
  // The RSO fills the order; an order that named no filler number is known to it by the exam number.
  const filler = of('filler') ?? { kind: 'filler', value: exam.examNumber, system: 'RSO_HUB' };
  return { placer: of('placer'), filler, accession: of('accession') };
}

function orc(input: OruInput): string[] {
  const ids = identifiers(input.exam);
  // ORC-5 (table 0038): CM once a final or corrected result exists, IP while only a preliminary one does.
  const orderStatus = input.report.state === 'preliminary' ? 'IP' : 'CM';
  const fields = ['ORC', 'RE', entity(input, ids.placer), fillerEntity(input, ids.filler), '', orderStatus];
  fields[9] = hl7Timestamp(input.report.signedAt ?? input.report.updatedAt);
  return fill(fields);
}

/** The exam number as filler carries the hub's own namespace, not a facility code. */
function fillerEntity(input: OruInput, filler: ExamIdentifier): string {
  if (filler.system === 'RSO_HUB') return components(d, filler.value, 'RSO_HUB');
  return entity(input, filler);
}

function obr(input: OruInput, status: string): string[] {
  const { exam, report, facility } = input;
  const ids = identifiers(exam);
  const procedure = exam.procedure;
  const coding =
    procedure.system === undefined
      ? undefined
      : codeOfSystem(facility.code, facility.identitySystems, 'codingSystems', procedure.system);
  const fields = [
    'OBR',
    '1',
    entity(input, ids.placer),
    fillerEntity(input, ids.filler),
    components(d, procedure.code, procedure.display ?? procedure.text, coding?.namespace ?? coding?.universalId),
  ];
  fields[7] = hl7Timestamp(exam.studies[0]?.receivedAt ?? exam.scheduledAt);
  fields[18] = ids.accession === undefined ? '' : components(d, ids.accession.value);
  fields[22] = hl7Timestamp(report.signedAt ?? report.updatedAt);
  fields[24] = 'RAD';
  fields[25] = status;
  fields[32] = interpreter(report);
  return fill(fields);
}

/** OBR-32 NDL: its first component is a CNN whose parts are subcomponents (ID, family, given, ..., prefix). */
function interpreter(report: Report): string {
  if (report.author === undefined) return '';
  const name = nameParts(report.author.name);
  return components(d, subcomponents(d, report.author.id, name.family, name.given, undefined, undefined, name.prefix));
}

function observations(input: OruInput, status: string): string[][] {
  const { report } = input;
  const segments: string[][] = [];
  const at = hl7Timestamp(report.signedAt ?? report.updatedAt);
  const add = (type: string, code: { code: string; display: string }, subId: string, value: string) => {
    const fields = [
      'OBX',
      String(segments.length + 1),
      type,
      components(d, code.code, code.display, 'LN'),
      subId,
      value,
    ];
    fields[11] = status;
    fields[14] = at;
    segments.push(fill(fields));
  };
  const sections: Array<[keyof typeof oruObservationCodes, string | undefined]> = [
    ['findings', report.findings],
    ['impression', report.impression],
  ];
  sections.forEach(([section, text], i) => {
    if (text === undefined || text.trim() === '') return;
    for (const line of text.replaceAll('\r\n', '\n').split('\n'))
      add('TX', oruObservationCodes[section], String(i + 1), components(d, line));
  });
  if (input.pdf !== undefined) {
    // ED (ch. 2A.24): source application ^ type of data ^ data subtype ^ encoding ^ data. Base64's alphabet
    // holds no delimiter, so the data needs no escaping.
    const ed = components(d, undefined, 'AP', 'PDF', 'Base64', { encoded: input.pdf.toString('base64') });
    add('ED', oruObservationCodes.document, String(sections.length + 1), ed);
  }
  return segments;
}

/** Holes in a sparse field array become empty fields. */
function fill(fields: string[]): string[] {
  return Array.from(fields, (f) => f ?? '');
}
