// Reports to facilities without an EHR interface: `report-email` and `report-fax` take a report.issued event
// (exam-events source), load the report's document (report-document.ts) and send it to the facility's
// reportDestinations.email / .fax through the SMTP and SOAP fax gateways. Subject, body and cover page are
// templates over exam number, facility and report state: no patient data, since subjects and cover pages are
// read by whoever stands at the fax machine or lists the mailbox. In composition/ because it joins the exams
// (which report, which facility) and two protocol folders. A facility with reportDestinations.emailLink gets a
// signed, expiring link (report-links.ts, served by report-link-route.ts) instead of the PDF.
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
import { type OutgoingMail, SmtpSender } from '../mail/smtp-sender.ts';
import { parseSmtpSettings, type SmtpSettings, smtpSettingKeys } from '../mail/smtp-settings.ts';
import { errorText } from '../runtime/log.ts';
import { compileTemplate, type Template } from '../runtime/template.ts';
import { ValidationError, expectKeys, expectObject, join, optionalString } from '../runtime/validate.ts';
import type { Gateways } from './gateways.ts';
import { loadReportDocument, type ReportDocument, ReportDocumentError } from './report-document.ts';
import type { ReportLinks } from './report-links.ts';

const variables = ['examNumber', 'facility', 'facilityCode', 'state', 'reportId'] as const;
const linkVariables = [...variables, 'link', 'validUntil'] as const;

interface Texts {
  subject: Template;
  text: Template;
}

export interface ReportEmailSettings extends Texts {
  gateway: SmtpSettings;
  /** The hub's address as facilities reach it (`https://hub.example`): links are this plus /links/reports/<token>. */
  linkBaseUrl?: string;
  /** The body when the facility takes a link instead of the PDF. */
  linkText: Template;
}

export interface ReportFaxSettings {
  gateway: SoapFaxSettings;
  cover: Template;
}

const defaults = {
  subject: 'Radiology report from RSO',
  text: 'The {{state}} radiology report for exam {{examNumber}} at {{facility}} is attached as a PDF.\n',
  cover: 'Radiology report ({{state}}) for exam {{examNumber}}, {{facility}}.',
  linkText:
    'The {{state}} radiology report for exam {{examNumber}} at {{facility}} is not attached: a link to it is ' +
    'enclosed below. The link is valid until {{validUntil}}.\n\n{{link}}\n',
};

function template(value: Record<string, unknown>, key: keyof typeof defaults, at: string): Template {
  const allowed = key === 'linkText' ? linkVariables : variables;
  return compileTemplate(value[key] ?? defaults[key], allowed, join(at, key));
}

function linkBase(value: unknown, at: string): string | undefined {
  const url = optionalString(value, at);
  if (url === undefined) return undefined;
  if (!/^https?:\/\/[^/]/.test(url)) throw new ValidationError(at, 'expected an http(s) URL');
  return url.replace(/\/+$/, '');
}

function gatewayOf(value: Record<string, unknown>, at: string, keys: readonly string[]): Record<string, unknown> {
  const gateway = expectObject(value['gateway'], join(at, 'gateway'));
  expectKeys(gateway, join(at, 'gateway'), keys);
  return gateway;
}

interface Delivery {
  reportId: string;
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
    return { reportId, document, facility, view };
  } catch (error) {
    const permanent = error instanceof ReportDocumentError && error.permanent;
    return { status: permanent ? 'failed' : 'retry', error: errorText(error) };
  }
}

function fileName(d: Delivery): string {
  return `report-${d.document.report.examNumber}.pdf`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The body and attachments of a report e-mail: the PDF, or for a facility that asked for it a signed link. */
async function contentOf(
  d: Delivery,
  settings: ReportEmailSettings,
  links: ReportLinks | undefined,
): Promise<Pick<OutgoingMail, 'text' | 'attachments'> | SendResult> {
  const emailLink = d.facility.reportDestinations.emailLink;
  if (emailLink === undefined)
    return {
      text: settings.text.render(d.view),
      attachments: [
        { filename: fileName(d), contentType: d.document.attachment.contentType, content: d.document.bytes },
      ],
    };
  if (settings.linkBaseUrl === undefined || links === undefined)
    return {
      status: 'failed',
      error: `${d.facility.code} takes report links, but this destination has no linkBaseUrl`,
    };
  const validUntil = new Date(Date.now() + emailLink.validHours * 3600_000);
  const token = await links.sign(d.reportId, validUntil);
  const link = `${settings.linkBaseUrl}/links/reports/${token}`;
  return { text: settings.linkText.render({ ...d.view, link, validUntil: validUntil.toISOString() }), attachments: [] };
}

export function reportEmailDestinationType(
  exams: ExamService,
  links?: ReportLinks,
): DestinationConnectorType<ReportEmailSettings> {
  return {
    type: 'report-email',
    parseSettings(input, at) {
      const value = expectObject(input, at);
      expectKeys(value, at, ['gateway', 'subject', 'text', 'linkBaseUrl', 'linkText']);
      const settings: ReportEmailSettings = {
        gateway: parseSmtpSettings(gatewayOf(value, at, smtpSettingKeys), join(at, 'gateway')),
        subject: template(value, 'subject', at),
        text: template(value, 'text', at),
        linkText: template(value, 'linkText', at),
      };
      const base = linkBase(value['linkBaseUrl'], join(at, 'linkBaseUrl'));
      if (base !== undefined) settings.linkBaseUrl = base;
      return settings;
    },
    create(settings): DestinationConnector {
      const smtp = new SmtpSender(settings.gateway);
      return {
        async send(message) {
          const d = await deliveryOf(message, exams);
          if ('status' in d) return d;
          const to = d.facility.reportDestinations.email;
          if (to === undefined) return { status: 'sent', response: `${d.facility.code} takes no reports by e-mail` };
          const content = await contentOf(d, settings, links);
          if ('status' in content) return content;
          return smtp.send({ to: [to], subject: settings.subject.render(d.view), ...content });
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
