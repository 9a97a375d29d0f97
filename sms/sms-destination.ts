// The `sms` destination: each message is one text, its content JSON { to, text } (`to` in E.164); sent through
// the HTTP gateway its settings name (sms-sender.ts). A content that is not such a text fails at once.
import type {
  DestinationConnector,
  DestinationConnectorType,
  OutboundMessage,
  SendResult,
} from '../channels/connector.ts';
import { expectKeys, expectObject } from '../runtime/validate.ts';
import {
  type OutgoingSms,
  parseSms,
  parseSmsGatewaySettings,
  type SmsGatewaySettings,
  SmsSender,
  smsGatewayKeys,
} from './sms-sender.ts';

function parseSettings(input: unknown, at: string): SmsGatewaySettings {
  const value = expectObject(input, at);
  expectKeys(value, at, smsGatewayKeys);
  return parseSmsGatewaySettings(value, at);
}

function create(settings: SmsGatewaySettings): DestinationConnector {
  const sender = new SmsSender(settings);
  return {
    async send(message: OutboundMessage): Promise<SendResult> {
      let sms: OutgoingSms;
      try {
        sms = parseSms(JSON.parse(message.content), 'content');
      } catch (error) {
        return { status: 'failed', error: error instanceof Error ? error.message : String(error) };
      }
      return sender.send(sms);
    },
    stop: async () => sender.stop(),
  };
}

export const smsDestination: DestinationConnectorType<SmsGatewaySettings> = {
  type: 'sms',
  parseSettings,
  create,
};
