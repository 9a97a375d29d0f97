// Reports to facilities without an EHR interface: `report-email` and `report-fax` take a report.issued event
// (exam-events source), load the report's document (report-document.ts) and send it to the facility's
// reportDestinations.email / .fax through the SMTP and SOAP fax gateways. Subject, body and cover page are
// templates over exam number, facility and report state: no patient data, since subjects and cover pages are
// read by whoever stands at the fax machine or lists the mailbox. In composition/ because it joins the exams
// (which report, which facility) and two protocol folders.
import type {
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import type { Facility } from '../exams/facility.ts';
import type { ExamEvent } from '../exams/outbox.ts';
import type { ExamService } from '../exams/service.ts';
import { FaxLine } from '../fax/soap-fax-destination.ts';
import { parseSoapFaxSettings, type SoapFaxSettings, soapFaxKeys } from '../fax/soap-fax-settings.ts';
import { SmtpSender } from '../mail/smtp-sender.ts';
import { parseSmtpSettings, type SmtpSettings, smtpSettingKeys } from '../mail/smtp-settings.ts';
import { errorText } from '../runtime/log.ts';
import { compileTemplate, type Template } from '../runtime/template.ts';
import { expectKeys, expectObject, join } from '../runtime/validate.ts';
import type { Gateways } from './gateways.ts';
import { loadReportDocument, type ReportDocument, ReportDocumentError } from './report-document.ts';

const variables = ['examNumber', 'facility', 'facilityCode', 'state', 'reportId'] as const;

interface Texts {
  subject: Template;
  text: Template;
}

export interface ReportEmailSettings extends Texts {
  gateway: SmtpSettings;
}

export interface ReportFaxSettings {
  gateway: SoapFaxSettings;
  cover: Template;
}

const defaults = {
  subject: 'Radiology report from RSO',
  text: 'The {{state}} radiology report for exam {{examNumber}} at {{facility}} is attached as a PDF.\n',
  cover: 'Radiology report ({{state}}) for exam {{examNumber}}, {{facility}}.',
};

function template(value: Record<string, unknown>, key: keyof typeof defaults, at: string): Template {
  return compileTemplate(value[key] ?? defaults[key], variables, join(at, key));
}

function gatewayOf(value: Record<string, unknown>, at: string, keys: readonly string[]): Record<string, unknown> {
  const gateway = expectObject(value['gateway'], join(at, 'gateway'));
  expectKeys(gateway, join(at, 'gateway'), keys);
  return gateway;
}

interface Delivery {
  document: ReportDocument;
  facility: Facility;
  view: Record<string, string>;
}

/** The report of a report.issued message and its facility; a result when there is nothing to send (yet). */
async function deliveryOf(message: OutboundMessage, exams: ExamService): Promise<Delivery | SendResult> {
  const event = JSON.parse(message.content) as ExamEvent;
  const reportId = event.data['reportId'];
  if (event.type !== 'report.issued' || typeof reportId !== 'string')
    return { status: 'failed', error: `expected a report.issued event with a reportId, not ${event.type}` };
  try {
    const document = await loadReportDocument(exams, reportId);
    const facility = await exams.facilities.require(document.report.facility);
    const view = {
      examNumber: document.report.examNumber,
      facility: facility.name,
      facilityCode: facility.code,
      state: document.report.state,
      reportId,
    };
    return { document, facility, view };
  } catch (error) {
    const permanent = error instanceof ReportDocumentError && error.permanent;
    return { status: permanent ? 'failed' : 'retry', error: errorText(error) };
  }
}

function fileName(d: Delivery): string {
  return `report-${d.document.report.examNumber}.pdf`.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function reportEmailDestinationType(exams: ExamService): DestinationConnectorType<ReportEmailSettings> {
  return {
    type: 'report-email',
    parseSettings(input, at) {
      const value = expectObject(input, at);
      expectKeys(value, at, ['gateway', 'subject', 'text']);
      return {
        gateway: parseSmtpSettings(gatewayOf(value, at, smtpSettingKeys), join(at, 'gateway')),
        subject: template(value, 'subject', at),
        text: template(value, 'text', at),
      };
    },
    create(settings): DestinationConnector {
      const smtp = new SmtpSender(settings.gateway);
      return {
        async send(message) {
          const d = await deliveryOf(message, exams);
          if ('status' in d) return d;
          const to = d.facility.reportDestinations.email;
          if (to === undefined) return { status: 'sent', response: `${d.facility.code} takes no reports by e-mail` };
          return smtp.send({
            to: [to],
            subject: settings.subject.render(d.view),
            text: settings.text.render(d.view),
            attachments: [
              { filename: fileName(d), contentType: d.document.attachment.contentType, content: d.document.bytes },
            ],
          });
        },
        stop: async () => smtp.stop(),
      };
    },
  };
}

export function reportFaxDestinationType(
  exams: ExamService,
  gateways: Gateways | undefined,
): DestinationConnectorType<ReportFaxSettings> {
  return {
    type: 'report-fax',
    parseSettings(input, at) {
      const value = expectObject(input, at);
      expectKeys(value, at, ['gateway', 'cover']);
      return {
        gateway: parseSoapFaxSettings(gatewayOf(value, at, soapFaxKeys), join(at, 'gateway')),
        cover: template(value, 'cover', at),
      };
    },
    create(settings, context: DestinationContext): DestinationConnector {
      const line = new FaxLine(settings.gateway, gateways?.faxJobs, context);
      return {
        async send(message) {
          const d = await deliveryOf(message, exams);
          if ('status' in d) return d;
          const to = d.facility.reportDestinations.fax;
          if (to === undefined) return { status: 'sent', response: `${d.facility.code} takes no reports by fax` };
          const fax = {
            to,
            coverText: settings.cover.render(d.view),
            fileName: fileName(d),
            document: d.document.bytes,
          };
          return line.send(message, fax);
        },
        stopping: () => line.stopping(),
        stop: async () => line.stop(),
      };
    },
  };
}
