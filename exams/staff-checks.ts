// The checks that an order or an assignment names people and a place the hub knows: the facility exists and is
// active, and the technician and radiologist work there (exams/facility.ts holds the staff lists). Orders,
// late orders and assignments share them, so every way in refuses the same unknown id with the same words.
import { InvalidInputError } from './errors.ts';
import type { Facility, FacilityRegistry } from './facility.ts';

export async function activeFacility(facilities: FacilityRegistry, code: string): Promise<Facility> {
  if (typeof code !== 'string' || code === '') throw new InvalidInputError('facility', 'the facility code is required');
  const facility = await facilities.get(code);
  if (!facility) throw new InvalidInputError('facility', `unknown facility "${code}"`);
  if (!facility.active) throw new InvalidInputError('facility', `facility "${code}" is not active`);
  return facility;
}

export function checkStaff(
  facility: Facility,
  technicianId: string | undefined,
  radiologistId: string | undefined,
): void {
  if (technicianId !== undefined && !facility.technicians.some((t) => t.id === technicianId)) {
    throw new InvalidInputError('technicianId', `"${technicianId}" is not a technician of facility ${facility.code}`);
  }
  if (radiologistId !== undefined && !facility.radiologists.some((r) => r.id === radiologistId)) {
    throw new InvalidInputError(
      'radiologistId',
      `"${radiologistId}" is not a radiologist of facility ${facility.code}`,
    );
  }
}
