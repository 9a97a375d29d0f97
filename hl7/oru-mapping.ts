// ORU^R01 from a dictation system (v2.3–2.5.1, ch. 7.3.1) to what the report service takes: which order it is
// about (OBR-2 placer, OBR-3 filler, OBR-18 accession as IHE RAD puts it; ORC-2/3 when OBR's are empty), the
// report state from OBR-25 (table 0123: P, F, C), the radiologist from OBR-32, the text of the OBX TX/FT/ST lines
// and a PDF from an OBX ED. Pure: no lookups, so the destination's check and its send read the message alike.
//
// Real feeds differ in how they cut text: one OBX per line (TX), one FT with `\.br\` breaks, TX with repeated
// OBX-5, and `^` left unescaped inside a line; the text of a repetition is therefore read whole, with component
// separators kept as characters. Impression lines are told apart by OBX-3 (LOINC 19005-8, or a code or text
// naming the impression, as `&IMP` of many PACS feeds); every other text line is findings. An ED's base64 may
// run on past its fifth component and into further repetitions (senders that cut long values); the parts are
// joined in order before decoding.
import { unescapeValue } from './escape.ts';
import { fieldText } from './field-text.ts';
import { hl7DateTime, senderOffset, type SenderZone } from './hl7-dates.ts';
import { emptyField, Hl7MappingError } from './mapping-error.ts';
import type { Hl7Message } from './message.ts';

export interface OrderNumber {
  value: string;
  /** EI-2, the namespace the number belongs to. */
  namespace?: string;
}

export interface DictatedReport {
  placer?: OrderNumber;
  filler?: OrderNumber;
  accession?: string;
  /** The field that named the order, for error texts (`OBR-2`). */
  orderField: string;
  state: 'preliminary' | 'final' | 'amended';
  interpreter?: { id: string; family?: string; given?: string };
  findings?: string;
  impression?: string;
  pdf?: Buffer;
  /** OBR-22 (results report/status change), else OBX-14, as ISO 8601 UTC. */
  signedAt?: string;
}

const stateOf: Readonly<Record<string, DictatedReport['state']>> = { P: 'preliminary', F: 'final', C: 'amended' };

const impressionCode = /^(19005-8|&?IMP|IMP.*|.*IMPRESSION.*)$/i;
const textTypes = new Set(['TX', 'FT', 'ST']);

export function mapDictatedOru(message: Hl7Message, timeZone: string): DictatedReport {
  const type = `${message.get('MSH-9.1') ?? ''}^${message.get('MSH-9.2') ?? ''}`;
  if (type !== 'ORU^R01')
    throw new Hl7MappingError('MSH-9', `MSH-9: ${type} is not a report (expected ORU^R01)`, 'unsupported-type');
  if (message.segmentsNamed('OBR').length === 0)
    throw new Hl7MappingError(
      'OBR',
      'OBR: the ORU^R01 has no OBR, so it names no order to report on',
      'segment-missing',
    );
  const zone: SenderZone = { timeZone, ...optionalOffset(senderOffset(message.get('MSH-7'))) };
  const report: DictatedReport = { ...orderOf(message), state: stateFrom(message) };
  const interpreter = interpreterOf(message);
  if (interpreter) report.interpreter = interpreter;
  const signed = fieldText(message, 'OBR-22') ?? fieldText(message, 'OBX-14');
  if (signed !== undefined)
    report.signedAt = hl7DateTime(signed, fieldText(message, 'OBR-22') ? 'OBR-22' : 'OBX-14', zone);
  Object.assign(report, observationsOf(message));
  if (report.findings === undefined && report.impression === undefined && report.pdf === undefined)
    throw new Hl7MappingError(
      'OBX',
      'OBX: the ORU^R01 carries no report text (TX, FT) and no PDF (ED)',
      'segment-missing',
    );
  return report;
}

function optionalOffset(offset: number | undefined): { offsetMinutes?: number } {
  return offset === undefined ? {} : { offsetMinutes: offset };
}

function number(message: Hl7Message, path: string): OrderNumber | undefined {
  const value = fieldText(message, `${path}.1`);
  if (value === undefined) return undefined;
  const namespace = fieldText(message, `${path}.2`);
  return namespace === undefined ? { value } : { value, namespace };
}

function orderOf(message: Hl7Message): Pick<DictatedReport, 'placer' | 'filler' | 'accession' | 'orderField'> {
  const placer = number(message, 'OBR-2') ?? number(message, 'ORC-2');
  const filler = number(message, 'OBR-3') ?? number(message, 'ORC-3');
  const accession = fieldText(message, 'OBR-18.1');
  if (!placer && !filler && !accession)
    throw emptyField('OBR-2', 'no placer (OBR-2), filler (OBR-3) or accession number (OBR-18) names the order');
  return {
    ...(placer ? { placer } : {}),
    ...(filler ? { filler } : {}),
    ...(accession ? { accession } : {}),
    orderField: placer ? 'OBR-2' : filler ? 'OBR-3' : 'OBR-18',
  };
}

function stateFrom(message: Hl7Message): DictatedReport['state'] {
  const code = fieldText(message, 'OBR-25');
  if (code === undefined) throw emptyField('OBR-25', 'the result status: P, F or C');
  const state = stateOf[code.toUpperCase()];
  if (state === undefined)
    throw new Hl7MappingError('OBR-25', `OBR-25: result status '${code}' is not taken (P, F or C)`, 'unknown-code');
  return state;
}

/** OBR-32 NDL: a CNN in component 1 (ID & family & given); some senders put them in components instead. */
function interpreterOf(message: Hl7Message): DictatedReport['interpreter'] {
  const id = fieldText(message, 'OBR-32.1.1');
  if (id === undefined) return undefined;
  const bySub = fieldText(message, 'OBR-32.1.2') !== undefined;
  const family = bySub ? fieldText(message, 'OBR-32.1.2') : fieldText(message, 'OBR-32.2');
  const given = bySub ? fieldText(message, 'OBR-32.1.3') : fieldText(message, 'OBR-32.3');
  return { id, ...(family ? { family } : {}), ...(given ? { given } : {}) };
}

function observationsOf(message: Hl7Message): Pick<DictatedReport, 'findings' | 'impression' | 'pdf'> {
  const findings: string[] = [];
  const impression: string[] = [];
  let pdf: Buffer | undefined;
  const count = message.segmentsNamed('OBX').length;
  for (let n = 1; n <= count; n++) {
    const valueType = (fieldText(message, `OBX[${n}]-2`) ?? '').toUpperCase();
    if (valueType === 'ED') {
      pdf = edDocument(message, n);
      continue;
    }
    if (!textTypes.has(valueType)) continue;
    const code = [fieldText(message, `OBX[${n}]-3.1`), fieldText(message, `OBX[${n}]-3.2`)];
    const target = code.some((c) => c !== undefined && impressionCode.test(c)) ? impression : findings;
    target.push(...textLines(message, n));
  }
  const text = (lines: string[]) => {
    const joined = lines.join('\n').trim();
    return joined === '' ? undefined : joined;
  };
  const result: Pick<DictatedReport, 'findings' | 'impression' | 'pdf'> = {};
  const f = text(findings);
  const i = text(impression);
  if (f !== undefined) result.findings = f;
  if (i !== undefined) result.impression = i;
  if (pdf !== undefined) result.pdf = pdf;
  return result;
}

/** Each repetition of OBX-5 is a line; within one, `\.br\` (FT) breaks lines too. */
function textLines(message: Hl7Message, n: number): string[] {
  const lines: string[] = [];
  const repetitions = Math.max(1, message.repetitionCount(`OBX[${n}]-5`));
  for (let r = 1; r <= repetitions; r++) {
    const encoded = message.getEncoded(`OBX[${n}]-5[${r}]`) ?? '';
    lines.push(...unescapeValue(encoded, message.delimiters).replaceAll('\r\n', '\n').split('\n'));
  }
  return lines;
}

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** ED (ch. 2A.24): source ^ type ^ subtype ^ encoding ^ data; only a base64 PDF is taken. */
function edDocument(message: Hl7Message, n: number): Buffer {
  const field = `OBX[${n}]-5`;
  const d = message.delimiters;
  const repetitions = Math.max(1, message.repetitionCount(field));
  const first = (message.getEncoded(`${field}[1]`) ?? '').split(d.component);
  const [, type = '', subtype = '', encoding = ''] = first.map((c) => unescapeValue(c, d).trim());
  const parts = first.slice(4);
  for (let r = 2; r <= repetitions; r++) parts.push(...(message.getEncoded(`${field}[${r}]`) ?? '').split(d.component));
  if (!/^(PDF|application\/pdf)$/i.test(subtype) && !/^application\/pdf$/i.test(type))
    throw new Hl7MappingError(
      `${field}.3`,
      `${field}.3: ED of subtype '${subtype}' is not taken (a PDF is)`,
      'unknown-code',
    );
  if (!/^base64$/i.test(encoding))
    throw new Hl7MappingError(
      `${field}.4`,
      `${field}.4: ED encoding '${encoding}' is not taken (Base64 is)`,
      'unknown-code',
    );
  // Line breaks inside the data (\X0D\\X0A\, \.br\) are formatting of long base64 lines, not data.
  const data = parts
    .map((p) => unescapeValue(p, d))
    .join('')
    .replace(/\s+/g, '');
  if (data === '') throw emptyField(`${field}.5`, 'the ED holds no data');
  if (!base64.test(data) || data.length % 4 !== 0)
    throw new Hl7MappingError(`${field}.5`, `${field}.5: the ED data is not base64`, 'malformed');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-')
    throw new Hl7MappingError(`${field}.5`, `${field}.5: the ED data does not decode to a PDF`, 'malformed');
  return bytes;
}
