// The `technician-notify` destination: a dispatch event (exam-events source) becomes notices to the technicians
// who want them by this destination's way (`via`: email, sms or fax), sent through that way's gateway settings
// (mail/, sms/, fax/). One delivery may reach several technicians: those already reached are remembered while the
// hub runs, so a retry after a partial failure does not notify them twice. It lives in composition/ because it
// joins the exams (who, what) and three protocol folders (how).
import type {
  DestinationConnector,
  DestinationConnectorType,
  DestinationContext,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import type { NotifyWay } from '../exams/facility-staff.ts';
import type { ExamService } from '../exams/service.ts';
import { FaxLine } from '../fax/soap-fax-destination.ts';
import { parseSoapFaxSettings, type SoapFaxSettings, soapFaxKeys } from '../fax/soap-fax-settings.ts';
import { textPdf } from '../fax/text-pdf.ts';
import { SmtpSender } from '../mail/smtp-sender.ts';
import { parseSmtpSettings, type SmtpSettings, smtpSettingKeys } from '../mail/smtp-settings.ts';
import { parseSmsGatewaySettings, type SmsGatewaySettings, SmsSender, smsGatewayKeys } from '../sms/sms-sender.ts';
import { errorText } from '../runtime/log.ts';
import { expectKeys, expectObject, expectOneOf, join } from '../runtime/validate.ts';
import { dispatchEventOf, type Notice, noticesFor } from './dispatch-notices.ts';
import type { Gateways } from './gateways.ts';

export type TechnicianNotifySettings =
  | { via: 'email'; gateway: SmtpSettings }
  | { via: 'sms'; gateway: SmsGatewaySettings }
  | { via: 'fax'; gateway: SoapFaxSettings };

function parseSettings(input: unknown, at: string): TechnicianNotifySettings {
  const value = expectObject(input, at);
  expectKeys(value, at, ['via', 'gateway']);
  const via = expectOneOf(value['via'], join(at, 'via'), ['email', 'sms', 'fax'] as const);
  const gatewayAt = join(at, 'gateway');
  const gateway = expectObject(value['gateway'], gatewayAt);
  switch (via) {
    case 'email':
      expectKeys(gateway, gatewayAt, smtpSettingKeys);
      return { via, gateway: parseSmtpSettings(gateway, gatewayAt) };
    case 'sms':
      expectKeys(gateway, gatewayAt, smsGatewayKeys);
      return { via, gateway: parseSmsGatewaySettings(gateway, gatewayAt) };
    case 'fax':
      expectKeys(gateway, gatewayAt, soapFaxKeys);
      return { via, gateway: parseSoapFaxSettings(gateway, gatewayAt) };
  }
}

type SendNotice = (message: OutboundMessage, notice: Notice) => Promise<SendResult>;

function noticeSender(settings: TechnicianNotifySettings, gateways: Gateways | undefined, context: DestinationContext) {
  switch (settings.via) {
    case 'email': {
      const smtp = new SmtpSender(settings.gateway);
      const send: SendNotice = (_, n) => smtp.send({ to: [n.technician.email!], subject: n.subject, text: n.text });
      return { send, stop: () => smtp.stop() };
    }
    case 'sms': {
      const sms = new SmsSender(settings.gateway);
      const send: SendNotice = (_, n) => sms.send({ to: n.technician.phone!, text: n.text });
      return { send, stop: () => sms.stop() };
    }
    case 'fax': {
      const line = new FaxLine(settings.gateway, gateways?.faxJobs, context);
      const send: SendNotice = async (message, n) => {
        const document = await textPdf(n.subject, n.text);
        const fax = { to: n.technician.fax!, coverText: n.subject, fileName: 'exam-notice.pdf', document };
        return line.send(message, fax, `:${n.technician.id}`);
      };
      return { send, stop: () => line.stop(), stopping: () => line.stopping() };
    }
  }
}

function create(
  exams: ExamService,
  gateways: Gateways | undefined,
  settings: TechnicianNotifySettings,
  context: DestinationContext,
): DestinationConnector {
  const sender = noticeSender(settings, gateways, context);
  const reached = new Map<string, Set<string>>();
  return {
    async send(message: OutboundMessage): Promise<SendResult> {
      let notices: Notice[];
      try {
        const dispatch = await dispatchEventOf(message.content, exams);
        notices = dispatch === undefined ? [] : noticesFor(dispatch, settings.via as NotifyWay);
      } catch (error) {
        return { status: 'retry', error: `could not read the exam: ${errorText(error)}` };
      }
      const done = reached.get(message.messageId) ?? new Set<string>();
      const lines: string[] = [];
      let worst: 'retry' | 'failed' | undefined;
      for (const notice of notices) {
        const id = notice.technician.id;
        if (done.has(id)) {
          lines.push(`${id}: sent`);
          continue;
        }
        const result = await sender.send(message, notice);
        if (result.status === 'not-sent') return result;
        if (result.status === 'sent') done.add(id);
        else if (worst === undefined || result.status === 'retry') worst = result.status;
        lines.push(`${id}: ${result.status === 'sent' ? 'sent' : `${result.status}: ${result.error}`}`);
      }
      const response = notices.length === 0 ? `no technician takes notices by ${settings.via}` : lines.join('; ');
      if (worst === undefined) {
        reached.delete(message.messageId);
        return { status: 'sent', response };
      }
      reached.set(message.messageId, done);
      return { status: worst, error: response, response };
    },
    ...(sender.stopping === undefined ? {} : { stopping: sender.stopping }),
    stop: async () => sender.stop(),
  };
}

export function technicianNotifyDestinationType(
  exams: ExamService,
  gateways: Gateways | undefined,
): DestinationConnectorType<TechnicianNotifySettings> {
  return {
    type: 'technician-notify',
    parseSettings,
    create: (settings, context) => create(exams, gateways, settings, context),
  };
}
