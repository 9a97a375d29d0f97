// Sends one e-mail over SMTP (RFC 5321) with nodemailer and turns the server's answer into a delivery result:
// a 4xx reply (RFC 5321 4.2.1, transient) or no answer at all is retried, a 5xx reply fails with the server's
// own text. Which recipients the server took and refused is kept on the delivery. nodemailer is imported on the
// first send, so a hub that sends no mail does not load it.
import { readFile } from 'node:fs/promises';
import type { SendResult } from '../channels/connector.ts';
import { errorText } from '../runtime/log.ts';
import type { SmtpSettings } from './smtp-settings.ts';

export interface MailAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface OutgoingMail {
  to: string[];
  /** Never patient data: subjects show in mail lists, notifications and relay logs. */
  subject: string;
  text: string;
  attachments?: MailAttachment[];
}

/** What the delivery records as its response: each recipient's fate and the server's last reply. */
export interface MailReceipt {
  accepted: string[];
  rejected: Array<{ address: string; reply: string }>;
  reply: string;
}

interface SmtpError {
  responseCode?: number;
  response?: string;
  code?: string;
  rejected?: string[];
  rejectedErrors?: Array<{ recipient?: string; response?: string; responseCode?: number }>;
}

interface SentInfo {
  accepted: Array<string | { address: string }>;
  rejected: Array<string | { address: string }>;
  rejectedErrors?: Array<{ recipient?: string; response?: string }>;
  response: string;
}

interface Transport {
  sendMail(mail: Record<string, unknown>): Promise<SentInfo>;
  close(): void;
}

export class SmtpSender {
  readonly #settings: SmtpSettings;
  #transport: Transport | undefined;

  constructor(settings: SmtpSettings) {
    this.#settings = settings;
  }

  async send(mail: OutgoingMail): Promise<SendResult> {
    let transport: Transport;
    try {
      transport = await this.#open();
    } catch (error) {
      return { status: 'retry', error: errorText(error) };
    }
    try {
      const info = await transport.sendMail({
        from: this.#settings.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        attachments: (mail.attachments ?? []).map((a) => ({
          filename: a.filename,
          contentType: a.contentType,
          content: a.content,
        })),
      });
      return { status: 'sent', response: JSON.stringify(receiptOf(info)) };
    } catch (error) {
      return resultOfError(error);
    }
  }

  stop(): void {
    this.#transport?.close();
    this.#transport = undefined;
  }

  async #open(): Promise<Transport> {
    if (this.#transport !== undefined) return this.#transport;
    const s = this.#settings;
    const auth = credentials(s);
    // Read when the transport is set up; a CA file that cannot be read is a retry, not a crash.
    const ca = s.tls?.caFile === undefined ? undefined : await readFile(s.tls.caFile);
    const tls = {
      minVersion: 'TLSv1.2' as const,
      ...(ca === undefined ? {} : { ca }),
      ...(s.tls?.servername === undefined ? {} : { servername: s.tls.servername }),
    };
    const { default: nodemailer } = await import('nodemailer');
    this.#transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      // 'tls': TLS from the first byte (RFC 8314, port 465); 'starttls': plain, then STARTTLS, which is required.
      secure: s.security === 'tls',
      requireTLS: s.security === 'starttls',
      ignoreTLS: s.security === 'none',
      tls,
      ...(auth === undefined ? {} : { auth }),
      connectionTimeout: s.timeoutMs,
      greetingTimeout: s.timeoutMs,
      socketTimeout: s.timeoutMs,
    }) as unknown as Transport;
    return this.#transport;
  }
}

/** Credentials are named by environment variable so no secret sits in a channel definition. */
function credentials(s: SmtpSettings): { user: string; pass: string } | undefined {
  if (s.auth === undefined) return undefined;
  const user = process.env[s.auth.userEnv];
  const pass = process.env[s.auth.passwordEnv];
  if (!user || !pass) throw new Error(`SMTP credentials missing: set ${s.auth.userEnv} and ${s.auth.passwordEnv}`);
  return { user, pass };
}

function addressOf(entry: string | { address: string }): string {
  return typeof entry === 'string' ? entry : entry.address;
}

function receiptOf(info: SentInfo): MailReceipt {
  const replies = new Map((info.rejectedErrors ?? []).map((e) => [e.recipient ?? '', e.response ?? '']));
  return {
    accepted: info.accepted.map(addressOf),
    rejected: info.rejected.map(addressOf).map((address) => ({ address, reply: replies.get(address) ?? '' })),
    reply: info.response,
  };
}

function resultOfError(error: unknown): SendResult {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SmtpError;
  const code = e.responseCode ?? e.rejectedErrors?.[0]?.responseCode;
  const reply = e.response ?? e.rejectedErrors?.[0]?.response ?? errorText(error);
  const response =
    e.rejected === undefined
      ? undefined
      : JSON.stringify({
          accepted: [],
          rejected: (e.rejectedErrors ?? []).map((r) => ({ address: r.recipient ?? '', reply: r.response ?? '' })),
          reply,
        } satisfies MailReceipt);
  const withResponse = response === undefined ? {} : { response };
  // RFC 5321 4.2.1: 5yz is a permanent negative completion; sending the same mail again would get the same reply.
  if (code !== undefined && code >= 500 && code < 600) return { status: 'failed', error: reply, ...withResponse };
  return { status: 'retry', error: code === undefined ? errorText(error) : reply, ...withResponse };
}
