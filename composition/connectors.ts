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
import { registerReportDestinations } from './reports-out.ts';
import { dispatchEscalationDestinationType } from './dispatch-escalation.ts';
import { reportEmailDestinationType, reportFaxDestinationType } from './report-delivery-destinations.ts';
import { technicianNotifyDestinationType } from './technician-notify-destination.ts';
import { fileDropDeps } from './files.ts';
import { fileDropSourceType } from '../files/file-drop-source.ts';
import { sftpFileDestination } from '../files/sftp-destination.ts';
import type { HubDb } from '../store/db.ts';
import type { UploadPart } from './upload.ts';

/** The running parts the connectors need; a registry that only checks definitions is made without them. */
export interface RegistryParts {
  /** Without it `dicom-scu` parses settings but cannot send. */
  dicom?: Pick<DicomPart, 'studies' | 'aeTitle'>;
  /** Without it `soap-fax` cannot follow its fax jobs. */
  gateways?: Gateways;
  /** Without it a file drop resumed after a restart is read whole again (the message store says what it holds). */
  db?: HubDb;
  /** Without it a file drop refuses DICOM files (the upload processor ingests them). */
  upload?: Pick<UploadPart, 'dropped'>;
}

export function hubRegistry(exams: ExamService, parts: RegistryParts = {}): ChannelRegistry {
  const { dicom, gateways, db, upload } = parts;
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
  registry.addDestination(reportEmailDestinationType(exams, gateways?.links));
  registry.addDestination(reportFaxDestinationType(exams, gateways));
  registry.addSource(fileDropSourceType(fileDropDeps(db, upload)));
  registry.addDestination(sftpFileDestination);
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
