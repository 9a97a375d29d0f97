// How to reach a patient: PID-11 addresses (XAD, v2.5.1 ch. 2.A.85) and PID-13/PID-14 home and business
// telecom (XTN, ch. 2.A.89) as the exam domain's Address and Telecom, which are R4's Address and ContactPoint
// (the v2-to-FHIR mapping's choices). Codes we cannot place leave the use empty rather than guessing.
import type { Address, Telecom } from '../exams/patient.ts';
import { fieldText, repetitionCount } from './field-text.ts';
import type { Hl7Message } from './message.ts';

// XAD-7 address type (HL7 table 0190) -> R4 address-use / address-type.
const addressUses: Readonly<Record<string, Pick<Address, 'use' | 'type'>>> = {
  H: { use: 'home' },
  P: { use: 'home' },
  B: { use: 'work' },
  O: { use: 'work' },
  C: { use: 'temp' },
  BA: { use: 'old' },
  BI: { use: 'billing' },
  M: { type: 'postal' },
};

/** PID-11: every address that has any part; street lines from XAD-1.1 (SAD street) and XAD-2. */
export function addressesFrom(message: Hl7Message, pid: string): Address[] {
  const addresses: Address[] = [];
  for (let r = 1; r <= repetitionCount(message, `${pid}-11`); r++) {
    const at = `${pid}-11[${r}]`;
    const address: Address = {};
    const line = [fieldText(message, `${at}.1.1`), fieldText(message, `${at}.2`)].filter(
      (part): part is string => part !== undefined,
    );
    if (line.length > 0) address.line = line;
    const parts = { city: 3, state: 4, postalCode: 5, country: 6, district: 9 } as const;
    for (const [key, component] of Object.entries(parts) as Array<[keyof typeof parts, number]>) {
      const value = fieldText(message, `${at}.${component}`);
      if (value !== undefined) address[key] = value;
    }
    if (Object.keys(address).length === 0) continue;
    Object.assign(address, addressUses[fieldText(message, `${at}.7`)?.toUpperCase() ?? ''] ?? {});
    addresses.push(address);
  }
  return addresses;
}

// XTN-2 telecommunication use code (table 0201) -> R4 contact-point-use.
const telecomUses: Readonly<Record<string, Telecom['use']>> = { PRN: 'home', ORN: 'home', VHN: 'temp', WPN: 'work' };

// XTN-3 telecommunication equipment type (table 0202) -> R4 contact-point-system.
const equipment: Readonly<Record<string, Telecom['system']>> = {
  PH: 'phone',
  CP: 'phone',
  SAT: 'phone',
  TDD: 'phone',
  TTY: 'phone',
  FX: 'fax',
  BP: 'pager',
  INTERNET: 'email',
  'X.400': 'email',
  MD: 'other',
};

/**
 * PID-13 (home) or PID-14 (business): `use` is what the field means when XTN-2 does not say. An e-mail
 * address is XTN-4 (NET/Internet); a number is XTN-12 (unformatted, v2.5), else XTN-1 (formatted, the only
 * component v2.3 has), else built from XTN-5..8 (country, area, local number, extension).
 */
export function telecomFrom(message: Hl7Message, fieldPath: string, use: 'home' | 'work'): Telecom[] {
  const telecom: Telecom[] = [];
  for (let r = 1; r <= repetitionCount(message, fieldPath); r++) {
    const at = `${fieldPath}[${r}]`;
    const useCode = fieldText(message, `${at}.2`)?.toUpperCase();
    const kind = fieldText(message, `${at}.3`)?.toUpperCase();
    const email = fieldText(message, `${at}.4`);
    const isEmail =
      useCode === 'NET' ||
      kind === 'INTERNET' ||
      kind === 'X.400' ||
      (email !== undefined && fieldText(message, `${at}.1`) === undefined);
    const value = isEmail ? (email ?? fieldText(message, `${at}.1`)) : numberOf(message, at);
    if (value === undefined) continue;
    const entry: Telecom = { value, system: isEmail ? 'email' : (equipment[kind ?? ''] ?? 'phone') };
    const entryUse = kind === 'CP' ? 'mobile' : useCode === undefined ? use : telecomUses[useCode];
    if (entryUse !== undefined) entry.use = entryUse;
    telecom.push(entry);
  }
  return telecom;
}

function numberOf(message: Hl7Message, at: string): string | undefined {
  const given = fieldText(message, `${at}.12`) ?? fieldText(message, `${at}.1`);
  if (given !== undefined) return given;
  const local = fieldText(message, `${at}.7`);
  if (local === undefined) return undefined;
  const country = fieldText(message, `${at}.5`);
  const area = fieldText(message, `${at}.6`);
  const extension = fieldText(message, `${at}.8`);
  return [
    country === undefined ? '' : `+${country} `,
    area === undefined ? '' : `(${area}) `,
    local,
    extension === undefined ? '' : ` x${extension}`,
  ].join('');
}
