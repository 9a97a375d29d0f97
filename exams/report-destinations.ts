// Where a facility's reports go: its EHR over MLLP (ORU^R01) or FHIR (DiagnosticReport), a fax number, an e-mail
// address. Each way is a destination on the report channel.
import { expectE164, expectEmailAddress } from '../runtime/addresses.ts';
import {
  ValidationError,
  expectKeys,
  expectObject,
  expectPort,
  expectString,
  join,
  optionalString,
} from '../runtime/validate.ts';

export interface MllpEndpoint {
  host: string;
  port: number;
}

export interface ReportDestinations {
  ehrMllp?: MllpEndpoint;
  ehrFhirBaseUrl?: string;
  fax?: string;
  email?: string;
}

export function parseReportDestinations(value: unknown, at: string): ReportDestinations {
  if (value === undefined) return {};
  const raw = expectObject(value, at);
  expectKeys(raw, at, ['ehrMllp', 'ehrFhirBaseUrl', 'fax', 'email']);
  const destinations: ReportDestinations = {};
  if (raw['ehrMllp'] !== undefined) {
    const mllp = expectObject(raw['ehrMllp'], join(at, 'ehrMllp'));
    expectKeys(mllp, join(at, 'ehrMllp'), ['host', 'port']);
    destinations.ehrMllp = {
      host: expectString(mllp['host'], join(at, 'ehrMllp.host')),
      port: expectPort(mllp['port'], join(at, 'ehrMllp.port')),
    };
  }
  const fhir = optionalString(raw['ehrFhirBaseUrl'], join(at, 'ehrFhirBaseUrl'));
  if (fhir !== undefined) {
    if (!/^https?:\/\//.test(fhir)) throw new ValidationError(join(at, 'ehrFhirBaseUrl'), 'expected an http(s) URL');
    destinations.ehrFhirBaseUrl = fhir;
  }
  // Checked here, when the facility is saved, so a wrong number is refused with its path, not failed at the gateway.
  if (raw['fax'] !== undefined) destinations.fax = expectE164(raw['fax'], join(at, 'fax'));
  if (raw['email'] !== undefined) destinations.email = expectEmailAddress(raw['email'], join(at, 'email'));
  return destinations;
}
