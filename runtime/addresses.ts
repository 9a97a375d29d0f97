// The addresses the gateways send to: telephone numbers in E.164 (ITU-T E.164: '+', a country code that does not
// start with 0, at most 15 digits in all) and e-mail addresses (the RFC 5321 mailbox a relay takes: one '@', a dot
// atom on the left, a domain of labels on the right). Checked when a facility or a setting is saved, so a wrong
// number is refused with its path instead of failing at the gateway days later.
import { ValidationError, expectString } from './validate.ts';

const e164 = /^\+[1-9][0-9]{1,14}$/;
// RFC 5322 dot-atom text for the local part; LDH labels (RFC 1035 2.3.1) for the domain, at least two of them.
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabel = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isE164(value: string): boolean {
  return e164.test(value);
}

export function isEmailAddress(value: string): boolean {
  if (value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at > 64) return false;
  const labels = value.slice(at + 1).split('.');
  return localPart.test(value.slice(0, at)) && labels.length >= 2 && labels.every((label) => domainLabel.test(label));
}

export function expectE164(value: unknown, path: string): string {
  const text = expectString(value, path);
  if (!isE164(text)) throw new ValidationError(path, `expected an E.164 number such as +15555550100, not '${text}'`);
  return text;
}

export function expectEmailAddress(value: unknown, path: string): string {
  const text = expectString(value, path);
  if (!isEmailAddress(text)) throw new ValidationError(path, `expected an e-mail address, not '${text}'`);
  return text;
}
