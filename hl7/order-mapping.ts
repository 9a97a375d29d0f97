// Orders to exam commands: ORM^O01 (v2.3–2.5.1 ch. 4.4.1) and OMI^O23 (v2.5.1 ch. 4.4.9, imaging order with
// TQ1 and IPC). Each ORC group with its order detail (OBR) is one exam. Pure: no I/O, the facility is resolved
// by the caller; everything read is checked here, so a bad message fails before any exam changes.
//
// Real feeds this tolerates: v2.3 ORMs without ORC (the OBR then carries the order, as a new order unless
// OBR-25 says X, cancelled); several OBRs under one ORC (each is an exam with the ORC's order control);
// Z segments and segments we do not read anywhere; `""` and padded fields; the procedure text alone in OBR-4.1.
import type { ExamIdentifier, Priority, Procedure } from '../exams/exam.ts';
import { codingSystem, hl7TableSystem, namespaceSystem, type SystemsOwner } from '../exams/identity-systems.ts';
import type { ExamStatus } from '../exams/lifecycle.ts';
import type { PatientInput } from '../exams/patient.ts';
import { dicomUidSystem } from '../exams/identifier-systems.ts';
import { fieldText, firstField, segmentLabel } from './field-text.ts';
import { hl7DateTime, senderOffset, type SenderZone } from './hl7-dates.ts';
import { emptyField, Hl7MappingError } from './mapping-error.ts';
import type { Hl7Message } from './message.ts';
import {
  actions,
  dicomModalities,
  orderStatuses,
  priorityCodes,
  resultStatuses,
  serviceSections,
} from './order-codes.ts';
import { patientFrom, type FacilityNames } from './patient-mapping.ts';

export interface MappingContext {
  facility: FacilityNames;
  /** IANA zone for times without an offset when MSH-7 has none either. */
  timeZone: string;
}

export type OrderAction = 'create' | 'change' | 'cancel' | 'status';

/** SC: the order status the sender reported and the exam status it means (undefined: noted, no change). */
export interface StatusReport {
  field: string;
  code: string;
  to: ExamStatus | undefined;
}

export interface MappedOrder {
  /** `ORC-1`, `ORC[2]-1`, or `OBR-25` for a v2.3 order without ORC: where the action came from. */
  controlField: string;
  orderControl: string;
  action: OrderAction;
  /** Placer first, then filler, accession and the DICOM study uid: the order in which an exam is looked up. */
  identifiers: ExamIdentifier[];
  /** The field that names the order in errors, e.g. `ORC-2`. */
  identifierField: string;
  procedure?: Procedure;
  modality?: string;
  priority?: Priority;
  scheduledAt?: string;
  /** ORC-9, date/time of the transaction: when the placer placed (or changed) the order. */
  authoredOn?: string;
  reason?: string;
  status?: StatusReport;
}

export interface MappedOrders {
  kind: 'orders';
  patient: PatientInput;
  orders: MappedOrder[];
}

interface Group {
  /** ORC occurrence of the group's own ORC. */
  orc?: number;
  /** ORC occurrence whose order control an ORC-less OBR inherits (several OBRs under one ORC). */
  inheritedOrc?: number;
  obr?: number;
  tq1?: number;
  ipc: number[];
}

export function mapOrders(message: Hl7Message, context: MappingContext): MappedOrders {
  const patient = patientFrom(message, context.facility);
  const groups = orderGroups(message);
  if (groups.length === 0) throw new Hl7MappingError('ORC', 'ORC is missing: the message has no ORC or OBR segment');
  const zone: SenderZone = { timeZone: context.timeZone };
  const offset = senderOffset(fieldText(message, 'MSH-7.1'));
  if (offset !== undefined) zone.offsetMinutes = offset;
  return { kind: 'orders', patient, orders: groups.map((group) => mapGroup(message, group, zone, context.facility)) };
}

function orderGroups(message: Hl7Message): Group[] {
  const groups: Group[] = [];
  const seen = new Map<string, number>();
  let current: Group | undefined;
  for (const segment of message.segments) {
    const name = segment.fields[0] ?? '';
    const occurrence = (seen.get(name) ?? 0) + 1;
    seen.set(name, occurrence);
    if (name === 'ORC') {
      current = { orc: occurrence, ipc: [] };
      groups.push(current);
    } else if (name === 'OBR') {
      if (current && current.obr === undefined) current.obr = occurrence;
      else {
        const inherited = current?.orc ?? current?.inheritedOrc;
        current =
          inherited === undefined
            ? { obr: occurrence, ipc: [] }
            : { obr: occurrence, inheritedOrc: inherited, ipc: [] };
        groups.push(current);
      }
    } else if (name === 'TQ1' && current && current.tq1 === undefined) current.tq1 = occurrence;
    else if (name === 'IPC' && current) current.ipc.push(occurrence);
  }
  return groups;
}

function mapGroup(message: Hl7Message, group: Group, zone: SenderZone, systems: SystemsOwner): MappedOrder {
  const { controlField, orderControl } = orderControlOf(message, group);
  const action = actions[orderControl];
  if (!action)
    throw new Hl7MappingError(
      controlField,
      `${controlField}: unsupported order control '${orderControl}' (supported: ${Object.keys(actions).join(', ')})`,
      'unsupported-code',
    );
  const { identifiers, identifierField } = identifiersOf(message, group, systems);
  const order: MappedOrder = { controlField, orderControl, action, identifiers, identifierField };
  const procedure = procedureOf(message, group, systems);
  if (procedure) order.procedure = procedure;
  else if (action === 'create')
    throw emptyField(
      group.obr === undefined ? 'OBR-4' : `${segmentLabel('OBR', group.obr)}-4`,
      'the requested procedure; a new order needs it',
    );
  const modality = modalityOf(message, group);
  if (modality) order.modality = modality;
  const priority = priorityOf(message, group);
  if (priority) order.priority = priority;
  const scheduled = firstField(
    message,
    groupPaths(group, [
      ['OBR', '36.1'],
      ['TQ1', '7.1'],
      ['ORC', '7.4.1'],
      ['OBR', '27.4.1'],
    ]),
  );
  if (scheduled) order.scheduledAt = hl7DateTime(scheduled.value, labelOf(scheduled.path), zone);
  const authored = firstField(message, groupPaths(group, [['ORC', '9.1']]));
  if (authored) order.authoredOn = hl7DateTime(authored.value, labelOf(authored.path), zone);
  const reason = firstField(
    message,
    groupPaths(group, [
      ['OBR', '31.2'],
      ['OBR', '31.1'],
      ['OBR', '13'],
    ]),
  );
  if (reason) order.reason = reason.value;
  if (action === 'status') order.status = statusOf(message, group, controlField);
  return order;
}

function orderControlOf(message: Hl7Message, group: Group): { controlField: string; orderControl: string } {
  const orc = group.orc ?? group.inheritedOrc;
  if (orc !== undefined) {
    const controlField = `${segmentLabel('ORC', orc)}-1`;
    const code = fieldText(message, `ORC[${orc}]-1`);
    if (code === undefined) throw emptyField(controlField, 'the order control');
    return { controlField, orderControl: code.toUpperCase() };
  }
  const obr = segmentLabel('OBR', group.obr ?? 1);
  const cancelled = fieldText(message, `OBR[${group.obr ?? 1}]-25`)?.toUpperCase() === 'X';
  return { controlField: cancelled ? `${obr}-25` : 'ORC-1', orderControl: cancelled ? 'CA' : 'NW' };
}

/** Paths of the group's segments for [segment, rest-of-path] pairs, skipping segments the group lacks. */
function groupPaths(group: Group, parts: ReadonlyArray<readonly ['ORC' | 'OBR' | 'TQ1' | 'IPC', string]>): string[] {
  const paths: string[] = [];
  for (const [segment, rest] of parts) {
    const occurrence =
      segment === 'ORC' ? group.orc : segment === 'OBR' ? group.obr : segment === 'TQ1' ? group.tq1 : group.ipc[0];
    if (occurrence !== undefined) paths.push(`${segment}[${occurrence}]-${rest}`);
  }
  return paths;
}

/** `ORC[1]-7.4.1` -> `ORC-7.4`, `OBR[1]-36.1` -> `OBR-36`: how an analyst names the field (a first component
 *  or subcomponent is the field itself). */
function labelOf(path: string): string {
  const m = /^([A-Z0-9]{3})\[(\d+)\]-(\d+)(?:\.(\d+))?/.exec(path);
  if (!m) return path;
  return `${segmentLabel(m[1]!, Number(m[2]))}-${m[3]}${m[4] === undefined || m[4] === '1' ? '' : `.${m[4]}`}`;
}

function identifiersOf(
  message: Hl7Message,
  group: Group,
  systems: SystemsOwner,
): { identifiers: ExamIdentifier[]; identifierField: string } {
  const identifiers: ExamIdentifier[] = [];
  const add = (
    kind: ExamIdentifier['kind'],
    found: { value: string; path: string } | undefined,
    system?: string,
  ): void => {
    if (!found) return;
    if (identifiers.some((id) => id.kind === kind && id.value === found.value)) return;
    identifiers.push(system === undefined ? { kind, value: found.value } : { kind, value: found.value, system });
  };
  // EI-1 is the number; EI-2 (namespace) names the system that issued it, as a URI (identity-systems.ts).
  const namespaceOf = (found: { path: string } | undefined): string | undefined =>
    found && namespaceSystem(systems, fieldText(message, found.path.replace(/\.1$/, '.2')));
  const placer = firstField(
    message,
    groupPaths(group, [
      ['ORC', '2.1'],
      ['OBR', '2.1'],
    ]),
  );
  add('placer', placer, namespaceOf(placer));
  const filler = firstField(
    message,
    groupPaths(group, [
      ['ORC', '3.1'],
      ['OBR', '3.1'],
    ]),
  );
  add('filler', filler, namespaceOf(filler));
  if (!placer && !filler) {
    const field =
      group.orc === undefined ? `${segmentLabel('OBR', group.obr ?? 1)}-2` : `${segmentLabel('ORC', group.orc)}-2`;
    throw emptyField(field, 'no placer (ORC-2/OBR-2) or filler (ORC-3/OBR-3) order number');
  }
  for (const ipc of group.ipc) add('accession', firstField(message, [`IPC[${ipc}]-1.1`]));
  if (group.obr !== undefined) add('accession', firstField(message, [`OBR[${group.obr}]-18`]));
  // IPC-3, the study instance uid the order pre-assigns: kept as FHIR keeps it on a ServiceRequest
  // (system urn:dicom:uid, value urn:oid:…), so DICOM matching and FHIR searches find the exam by it.
  for (const ipc of group.ipc) {
    const uid = fieldText(message, `IPC[${ipc}]-3.1`);
    if (uid === undefined) continue;
    if (!/^[0-9.]{1,64}$/.test(uid))
      throw new Hl7MappingError(
        `${segmentLabel('IPC', ipc)}-3`,
        `${segmentLabel('IPC', ipc)}-3: '${uid}' is not a DICOM UID`,
      );
    add('external', { value: `urn:oid:${uid}`, path: '' }, dicomUidSystem);
  }
  return { identifiers, identifierField: labelOf((placer ?? filler)!.path) };
}

/** OBR-4 (CE/CWE): the code, its text (CE-2, the coding's display) and its coding system as a URI; OBR-24 as category. */
function procedureOf(message: Hl7Message, group: Group, systems: SystemsOwner): Procedure | undefined {
  if (group.obr === undefined) return undefined;
  const procedure = codedProcedure(message, `OBR[${group.obr}]-4`, systems);
  const section = fieldText(message, `OBR[${group.obr}]-24`)?.toUpperCase();
  if (procedure && section !== undefined) procedure.category = [{ system: hl7TableSystem('0074'), code: section }];
  return procedure;
}

function codedProcedure(message: Hl7Message, obr: string, systems: SystemsOwner): Procedure | undefined {
  const code = fieldText(message, `${obr}.1`);
  const text = fieldText(message, `${obr}.2`);
  if (code !== undefined)
    return withOptional(
      { code },
      text,
      text ?? (/\s/.test(code) ? code : undefined),
      codingSystem(systems, fieldText(message, `${obr}.3`)),
    );
  // CE-4..6, the alternate code, when the sender fills only that triplet.
  const altCode = fieldText(message, `${obr}.4`);
  const altText = fieldText(message, `${obr}.5`);
  if (altCode !== undefined)
    return withOptional(
      { code: altCode },
      altText,
      altText ?? text,
      codingSystem(systems, fieldText(message, `${obr}.6`)),
    );
  // Text without a code (`^CT HEAD`): the text is the only key the facility gave, so it serves as the code.
  const onlyText = text ?? altText;
  return onlyText === undefined ? undefined : { code: onlyText, text: onlyText };
}

function withOptional(
  procedure: Procedure,
  display: string | undefined,
  text: string | undefined,
  system: string | undefined,
): Procedure {
  if (display !== undefined) procedure.display = display;
  if (text !== undefined) procedure.text = text;
  if (system !== undefined) procedure.system = system;
  return procedure;
}

function modalityOf(message: Hl7Message, group: Group): string | undefined {
  for (const ipc of group.ipc) {
    const code = fieldText(message, `IPC[${ipc}]-5.1`)?.toUpperCase();
    if (code !== undefined) return code;
  }
  if (group.obr === undefined) return undefined;
  const section = fieldText(message, `OBR[${group.obr}]-24`)?.toUpperCase();
  if (section === undefined) return undefined;
  return dicomModalities.has(section) ? section : serviceSections[section];
}

function priorityOf(message: Hl7Message, group: Group): Priority | undefined {
  const found = firstField(
    message,
    groupPaths(group, [
      ['TQ1', '9.1'],
      ['ORC', '7.6'],
      ['OBR', '27.6'],
    ]),
  );
  if (!found) return undefined;
  const priority = priorityCodes[found.value.toUpperCase()];
  if (priority) return priority;
  const field = labelOf(found.path);
  throw new Hl7MappingError(
    field,
    `${field}: unknown priority '${found.value}' (HL7 table 0027: S, A, R, P, T, C)`,
    'unknown-code',
  );
}

function statusOf(message: Hl7Message, group: Group, controlField: string): StatusReport {
  const orc = group.orc ?? group.inheritedOrc;
  const orderStatus = orc === undefined ? undefined : fieldText(message, `ORC[${orc}]-5`)?.toUpperCase();
  if (orderStatus !== undefined) {
    const field = `${segmentLabel('ORC', orc!)}-5`;
    if (!(orderStatus in orderStatuses))
      throw new Hl7MappingError(
        field,
        `${field}: unsupported order status '${orderStatus}' (supported: ${Object.keys(orderStatuses).join(', ')})`,
        'unsupported-code',
      );
    return { field, code: orderStatus, to: orderStatuses[orderStatus] };
  }
  const resultStatus = group.obr === undefined ? undefined : fieldText(message, `OBR[${group.obr}]-25`)?.toUpperCase();
  if (resultStatus === undefined)
    throw emptyField(
      orc === undefined ? 'ORC-5' : `${segmentLabel('ORC', orc)}-5`,
      `${controlField} SC needs the order status (ORC-5 or OBR-25)`,
    );
  const field = `${segmentLabel('OBR', group.obr!)}-25`;
  if (!(resultStatus in resultStatuses))
    throw new Hl7MappingError(
      field,
      `${field}: '${resultStatus}' is not an order status the hub takes from an order (supported: ${Object.keys(resultStatuses).join(', ')})`,
      'unsupported-code',
    );
  return { field, code: resultStatus, to: resultStatuses[resultStatus] };
}
