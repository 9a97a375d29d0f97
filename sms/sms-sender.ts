// Sends one text message through an HTTP SMS gateway: a POST of JSON or of a form (application/x-www-form-urlencoded)
// whose fields are mustache templates over { to, text }. The gateway's status decides (RFC 9110 15): 2xx delivered
// to the gateway, 4xx refused (sending the same request again gets the same answer), 5xx, a timeout or no
// connection retried. The auth header's value comes from an environment variable, never from the definition.
import type { SendResult } from '../channels/connector.ts';
import { expectE164 } from '../runtime/addresses.ts';
import { errorText } from '../runtime/log.ts';
import { compileTemplate, type Template } from '../runtime/template.ts';
import {
  ValidationError,
  expectInteger,
  expectKeys,
  expectObject,
  expectOneOf,
  expectString,
  join,
  optionalString,
} from '../runtime/validate.ts';

export interface SmsGatewaySettings {
  url: string;
  format: 'json' | 'form';
  /** Header name and the environment variable that holds its value (e.g. `Authorization`, `SMS_GATEWAY_AUTH`). */
  authHeader?: { name: string; valueEnv: string };
  /** Body fields, each a template over `to` and `text`. */
  body: Record<string, Template>;
  timeoutMs: number;
}

export const smsGatewayKeys = ['url', 'format', 'authHeader', 'body', 'timeoutMs'] as const;
export const smsTemplateVariables = ['to', 'text'] as const;

export function parseSmsGatewaySettings(value: Record<string, unknown>, at: string): SmsGatewaySettings {
  const url = expectString(value['url'], join(at, 'url'));
  if (!/^https?:\/\//.test(url)) throw new ValidationError(join(at, 'url'), 'expected an http(s) URL');
  const bodyInput = expectObject(value['body'] ?? { to: '{{to}}', text: '{{text}}' }, join(at, 'body'));
  const body: Record<string, Template> = {};
  for (const [field, source] of Object.entries(bodyInput)) {
    body[field] = compileTemplate(source, smsTemplateVariables, join(join(at, 'body'), field));
  }
  const settings: SmsGatewaySettings = {
    url,
    format: expectOneOf(value['format'] ?? 'json', join(at, 'format'), ['json', 'form'] as const),
    body,
    timeoutMs: expectInteger(value['timeoutMs'] ?? 10_000, join(at, 'timeoutMs'), 100, 600_000),
  };
  if (value['authHeader'] !== undefined) {
    const auth = expectObject(value['authHeader'], join(at, 'authHeader'));
    expectKeys(auth, join(at, 'authHeader'), ['name', 'valueEnv']);
    settings.authHeader = {
      name: optionalString(auth['name'], join(at, 'authHeader.name')) ?? 'Authorization',
      valueEnv: expectString(auth['valueEnv'], join(at, 'authHeader.valueEnv')),
    };
  }
  return settings;
}

export interface OutgoingSms {
  to: string;
  text: string;
}

export function parseSms(value: unknown, at: string): OutgoingSms {
  const sms = expectObject(value, at);
  expectKeys(sms, at, ['to', 'text']);
  return { to: expectE164(sms['to'], join(at, 'to')), text: expectString(sms['text'], join(at, 'text')) };
}

export class SmsSender {
  readonly #settings: SmsGatewaySettings;
  readonly #aborts = new Set<AbortController>();

  constructor(settings: SmsGatewaySettings) {
    this.#settings = settings;
  }

  async send(sms: OutgoingSms): Promise<SendResult> {
    const s = this.#settings;
    const headers: Record<string, string> = {
      'content-type': s.format === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    };
    if (s.authHeader !== undefined) {
      const value = process.env[s.authHeader.valueEnv];
      if (!value) return { status: 'retry', error: `SMS gateway auth missing: set ${s.authHeader.valueEnv}` };
      headers[s.authHeader.name] = value;
    }
    const fields = Object.fromEntries(
      Object.entries(s.body).map(([k, template]) => [k, template.render({ to: sms.to, text: sms.text })]),
    );
    const body = s.format === 'json' ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
    const abort = new AbortController();
    this.#aborts.add(abort);
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${s.timeoutMs} ms (timeout)`)), s.timeoutMs);
    try {
      const response = await fetch(s.url, { method: 'POST', headers, body, signal: abort.signal });
      const text = (await response.text()).slice(0, 500);
      const answer = `${response.status} ${text}`.trim();
      if (response.ok) return { status: 'sent', response: answer };
      if (response.status >= 400 && response.status < 500) return { status: 'failed', error: answer, response: answer };
      return { status: 'retry', error: answer, response: answer };
    } catch (error) {
      const reason = abort.signal.aborted ? errorText(abort.signal.reason) : errorText(error);
      return { status: 'retry', error: `SMS gateway ${s.url}: ${reason}` };
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
    }
  }

  /** Gives up requests in flight (the hub is stopping); their deliveries are retried after the restart. */
  stop(): void {
    for (const abort of this.#aborts) abort.abort(new Error('the hub is stopping'));
  }
}
