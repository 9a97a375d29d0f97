// The people of a facility the hub names on exams and reports: its technicians and radiologists. Their contact
// details are here because dispatch and report delivery reach them.
import { expectArray, expectKeys, expectObject, expectString, join, optionalString } from '../runtime/validate.ts';

export interface StaffMember {
  /** Stable id used on exams (technicianId, radiologistId). */
  id: string;
  name: string;
  email?: string;
  phone?: string;
}

export function parseStaffList(value: unknown, at: string): StaffMember[] {
  if (value === undefined) return [];
  return expectArray(value, at).map((item, i) => {
    const path = join(at, i);
    const raw = expectObject(item, path);
    expectKeys(raw, path, ['id', 'name', 'email', 'phone']);
    const member: StaffMember = {
      id: expectString(raw['id'], join(path, 'id')),
      name: expectString(raw['name'], join(path, 'name')),
    };
    const email = optionalString(raw['email'], join(path, 'email'));
    const phone = optionalString(raw['phone'], join(path, 'phone'));
    if (email !== undefined) member.email = email;
    if (phone !== undefined) member.phone = phone;
    return member;
  });
}
