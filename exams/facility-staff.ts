// The people of a facility the hub names on exams and reports: its technicians and radiologists. Their contact
// details are here because dispatch and report delivery reach them: each says how it wants to be notified, and
// the addresses those ways need are checked when the facility is saved (E.164 numbers, e-mail addresses), as are
// the facility's dispatch templates (mustache, only the variables a notice offers).
import { expectE164, expectEmailAddress } from '../runtime/addresses.ts';
import { compileTemplate } from '../runtime/template.ts';
import {
  ValidationError,
  expectArray,
  expectKeys,
  expectObject,
  expectOneOf,
  expectString,
  join,
} from '../runtime/validate.ts';

export const notifyWays = ['email', 'sms', 'fax'] as const;
export type NotifyWay = (typeof notifyWays)[number];

export interface StaffMember {
  /** Stable id used on exams (technicianId, radiologistId). */
  id: string;
  name: string;
  email?: string;
  /** E.164; what SMS goes to. */
  phone?: string;
  /** E.164. */
  fax?: string;
  /** How the member wants dispatch notices, in the order given; absent: by e-mail if there is an address. */
  notify?: NotifyWay[];
}

const contactOf: Record<NotifyWay, 'email' | 'phone' | 'fax'> = { email: 'email', sms: 'phone', fax: 'fax' };

export function parseStaffList(value: unknown, at: string): StaffMember[] {
  if (value === undefined) return [];
  const ids = new Set<string>();
  return expectArray(value, at).map((item, i) => {
    const path = join(at, i);
    const raw = expectObject(item, path);
    expectKeys(raw, path, ['id', 'name', 'email', 'phone', 'fax', 'notify']);
    const member: StaffMember = {
      id: expectString(raw['id'], join(path, 'id')),
      name: expectString(raw['name'], join(path, 'name')),
    };
    if (ids.has(member.id)) throw new ValidationError(join(path, 'id'), `'${member.id}' is listed twice`);
    ids.add(member.id);
    if (raw['email'] !== undefined) member.email = expectEmailAddress(raw['email'], join(path, 'email'));
    if (raw['phone'] !== undefined) member.phone = expectE164(raw['phone'], join(path, 'phone'));
    if (raw['fax'] !== undefined) member.fax = expectE164(raw['fax'], join(path, 'fax'));
    if (raw['notify'] !== undefined) {
      member.notify = expectArray(raw['notify'], join(path, 'notify')).map((way, j) => {
        const checked = expectOneOf(way, join(join(path, 'notify'), j), notifyWays);
        if (member[contactOf[checked]] === undefined)
          throw new ValidationError(
            join(join(path, 'notify'), j),
            `${checked} needs the member's ${contactOf[checked]}`,
          );
        return checked;
      });
    }
    return member;
  });
}

/** The ways a member is notified: the stated preference, else e-mail when there is an address. */
export function notifyWaysOf(member: StaffMember): NotifyWay[] {
  if (member.notify !== undefined) return member.notify;
  return member.email === undefined ? [] : ['email'];
}

/** What a dispatch notice template may name. No patient data: notices go over SMS and fax. */
export const dispatchTemplateVariables = [
  'examNumber',
  'facility',
  'facilityCode',
  'procedure',
  'priority',
  'technician',
  'reason',
] as const;

/** Per-facility texts of dispatch notices; absent ones use the hub's defaults. */
export interface DispatchTemplates {
  subject?: string;
  email?: string;
  sms?: string;
  fax?: string;
}

export function parseDispatchTemplates(value: unknown, at: string): DispatchTemplates | undefined {
  if (value === undefined) return undefined;
  const raw = expectObject(value, at);
  const keys = ['subject', 'email', 'sms', 'fax'] as const;
  expectKeys(raw, at, keys);
  const templates: DispatchTemplates = {};
  for (const key of keys) {
    if (raw[key] === undefined) continue;
    templates[key] = compileTemplate(raw[key], dispatchTemplateVariables, join(at, key)).source;
  }
  return templates;
}
