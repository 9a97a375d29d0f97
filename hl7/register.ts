// Adds the HL7 v2 connector types and data type to a channel registry; hub.ts calls it (nothing registers on import).
import type { ChannelRegistry } from '../channels/registry.ts';
import type { ExamService } from '../exams/service.ts';
import { dictationDestinationType } from './dictation-destination.ts';
import { examDestinationType } from './exam-destination.ts';
import { hl7v2DataType } from './hl7-data-type.ts';
import { mllpDestinationType } from './mllp-destination.ts';
import { mllpSourceType } from './mllp-source.ts';

export function registerHl7Connectors(registry: ChannelRegistry): void {
  registry.addDataType(hl7v2DataType);
  registry.addSource(mllpSourceType);
  registry.addDestination(mllpDestinationType);
}

/**
 * The `rso-exams` (HL7 orders and ADT -> exams) and `rso-reports` (dictated ORU^R01 -> reports) destinations;
 * separate because they need the running ExamService.
 */
export function registerHl7ExamMapping(registry: ChannelRegistry, exams: ExamService): void {
  registry.addDestination(examDestinationType(exams));
  registry.addDestination(dictationDestinationType(exams));
}
