// Every connector and data type the hub offers, in one registry. Protocol folders export their types; this is
// the one place that knows them all, so a new connector is its own file plus one line here.
import { registerBuiltinConnectors } from '../channels/builtin-connectors.ts';
import { ChannelRegistry } from '../channels/registry.ts';
import type { ExamService } from '../exams/service.ts';
import { registerHl7Connectors, registerHl7ExamMapping } from '../hl7/register.ts';
import { dicomScuDestinationType } from '../dicom/scu-destination.ts';
import type { DicomPart } from './dicom.ts';
import { examEventsSourceType } from './exam-events-source.ts';
import { registerReportDestinations } from './reports-out.ts';

/** Without `dicom` (a registry that only checks definitions) `dicom-scu` parses settings but cannot send. */
export function hubRegistry(exams: ExamService, dicom?: Pick<DicomPart, 'studies' | 'aeTitle'>): ChannelRegistry {
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registerHl7Connectors(registry);
  registerHl7ExamMapping(registry, exams);
  registry.addSource(examEventsSourceType(exams));
  registry.addDestination(
    dicomScuDestinationType(
      dicom === undefined
        ? { exams, defaultCallingAe: 'RSO_HUB' }
        : { exams, index: dicom.studies, defaultCallingAe: dicom.aeTitle },
    ),
  );
  registerReportDestinations(registry, exams);
  return registry;
}
