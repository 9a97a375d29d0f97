// The `smtp` destination: each message is one e-mail, described by the message content as JSON
// ({ to?, subject?, text, attachments?: [{ filename, contentType, contentBase64 }] }); recipients and subject fall
// back to the settings. A content that is not such a mail fails at once (a retry would read the same content).
import type {
  DestinationConnector,
  DestinationConnectorType,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import { expectEmailAddress } from '../runtime/addresses.ts';
import {
  ValidationError,
  expectArray,
  expectKeys,
  expectObject,
  expectString,
  join,
  optionalString,
} from '../runtime/validate.ts';
import { type MailAttachment, type OutgoingMail, SmtpSender } from './smtp-sender.ts';
import { parseSmtpSettings, type SmtpSettings, smtpSettingKeys } from './smtp-settings.ts';

export interface SmtpDestinationSettings extends SmtpSettings {
  to?: string[];
  subject?: string;
}

function parseSettings(input: unknown, at: string): SmtpDestinationSettings {
  const value = expectObject(input, at);
  expectKeys(value, at, [...smtpSettingKeys, 'to', 'subject']);
  const settings: SmtpDestinationSettings = parseSmtpSettings(value, at);
  if (value['to'] !== undefined) settings.to = parseRecipients(value['to'], join(at, 'to'));
  const subject = optionalString(value['subject'], join(at, 'subject'));
  if (subject !== undefined) settings.subject = subject;
  return settings;
}

export function parseRecipients(value: unknown, at: string): string[] {
  const list = expectArray(value, at).map((item, i) => expectEmailAddress(item, join(at, i)));
  if (list.length === 0) throw new ValidationError(at, 'expected at least one recipient');
  return list;
}

function mailOf(content: string, settings: SmtpDestinationSettings): OutgoingMail {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new ValidationError('content', 'expected a JSON mail description');
  }
  const value = expectObject(parsed, 'content');
  expectKeys(value, 'content', ['to', 'subject', 'text', 'attachments']);
  const to = value['to'] === undefined ? settings.to : parseRecipients(value['to'], 'content.to');
  if (to === undefined)
    throw new ValidationError('content.to', 'no recipients (neither in the message nor the settings)');
  const subject = optionalString(value['subject'], 'content.subject') ?? settings.subject;
  if (subject === undefined) throw new ValidationError('content.subject', 'no subject');
  const attachments = (
    value['attachments'] === undefined ? [] : expectArray(value['attachments'], 'content.attachments')
  ).map((item, i): MailAttachment => {
    const at = join('content.attachments', i);
    const a = expectObject(item, at);
    expectKeys(a, at, ['filename', 'contentType', 'contentBase64']);
    return {
      filename: expectString(a['filename'], join(at, 'filename')),
      contentType: expectString(a['contentType'], join(at, 'contentType')),
      content: Buffer.from(expectString(a['contentBase64'], join(at, 'contentBase64')), 'base64'),
    };
  });
  return { to, subject, text: expectString(value['text'], 'content.text'), attachments };
}

function create(settings: SmtpDestinationSettings): DestinationConnector {
  const sender = new SmtpSender(settings);
  return {
    async send(message: OutboundMessage): Promise<SendResult> {
      let mail: OutgoingMail;
      try {
        mail = mailOf(message.content, settings);
      } catch (error) {
        return { status: 'failed', error: error instanceof Error ? error.message : String(error) };
      }
      return sender.send(mail);
    },
    stop: async () => sender.stop(),
  };
}

export const smtpDestination: DestinationConnectorType<SmtpDestinationSettings> = {
  type: 'smtp',
  parseSettings,
  create,
};
