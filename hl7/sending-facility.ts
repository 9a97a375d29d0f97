// Which facility an HL7 message comes from: MSH-4 (HD, ch. 2.14.9.4) names it by one of the facility's
// `sendingFacilities`; a channel that serves one facility may name it for senders that leave MSH-4 empty.
// Shared by the rso-exams destination and its check, so both refuse the same senders with the same words.
import type { Facility } from '../exams/facility.ts';
import type { ExamService } from '../exams/service.ts';
import { fieldText } from './field-text.ts';
import { Hl7MappingError } from './mapping-error.ts';
import type { Hl7Message } from './message.ts';

export async function sendingFacility(
  exams: ExamService,
  message: Hl7Message,
  defaultFacility: string | undefined,
): Promise<Facility> {
  // The namespace id names the facility; a few senders fill only the universal id.
  const name = fieldText(message, 'MSH-4.1') ?? fieldText(message, 'MSH-4.2');
  if (name !== undefined) {
    const facility = await exams.facilities.findBySendingFacility(name);
    if (!facility) throw new Hl7MappingError('MSH-4', `MSH-4: unknown sending facility '${name}'`, 'unknown-sender');
    return facility;
  }
  if (defaultFacility === undefined) {
    const text = 'MSH-4 is empty (the sending facility) and the destination names no default facility';
    throw new Hl7MappingError('MSH-4', text, 'field-missing');
  }
  const facility = await exams.facilities.get(defaultFacility);
  if (!facility) {
    const text = `MSH-4 is empty and the destination's default facility '${defaultFacility}' does not exist`;
    throw new Hl7MappingError('MSH-4', text, 'unknown-sender');
  }
  return facility;
}
