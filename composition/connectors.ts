// Every connector and data type the hub offers, in one registry. Protocol folders export their types; this is
// the one place that knows them all, so a new connector is its own file plus one line here.
import { registerBuiltinConnectors } from '../channels/builtin-connectors.ts';
import { ChannelRegistry } from '../channels/registry.ts';
import type { ExamService } from '../exams/service.ts';
import { registerHl7Connectors, registerHl7ExamMapping } from '../hl7/register.ts';
import { dicomScuDestinationType } from '../dicom/scu-destination.ts';
import { soapFaxDestinationType } from '../fax/soap-fax-destination.ts';
import { smtpDestination } from '../mail/smtp-destination.ts';
import { smsDestination } from '../sms/sms-destination.ts';
import type { DicomPart } from './dicom.ts';
import { examEventsSourceType } from './exam-events-source.ts';
import type { Gateways } from './gateways.ts';
import type { ReportReader } from '../exams/report-reader.ts';
import { registerReportDestinations } from './reports-out.ts';
import { dispatchEscalationDestinationType } from './dispatch-escalation.ts';
import { reportEmailDestinationType, reportFaxDestinationType } from './report-delivery-destinations.ts';
import { technicianNotifyDestinationType } from './technician-notify-destination.ts';

/**
 * Without `dicom` (a registry that only checks definitions) `dicom-scu` parses settings but cannot send; without
 * `gateways`, `soap-fax` cannot follow its fax jobs; without `reports`, the report destinations cannot read reports.
 */
export function hubRegistry(
  exams: ExamService,
  dicom?: Pick<DicomPart, 'studies' | 'aeTitle'>,
  gateways?: Gateways,
  reports?: ReportReader,
): ChannelRegistry {
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registerHl7Connectors(registry);
  registerHl7ExamMapping(registry, exams);
  registry.addSource(examEventsSourceType(exams));
  registry.addDestination(smtpDestination);
  registry.addDestination(smsDestination);
  registry.addDestination(soapFaxDestinationType(gateways?.faxJobs));
  registry.addDestination(technicianNotifyDestinationType(exams, gateways));
  registry.addDestination(dispatchEscalationDestinationType(exams, gateways?.escalation));
  registry.addDestination(reportEmailDestinationType(exams, gateways));
  registry.addDestination(reportFaxDestinationType(exams, gateways));
  registry.addDestination(
    dicomScuDestinationType(
      dicom === undefined
        ? { exams, defaultCallingAe: 'RSO_HUB' }
        : { exams, index: dicom.studies, defaultCallingAe: dicom.aeTitle },
    ),
  );
  registerReportDestinations(registry, exams, reports);
  return registry;
}
