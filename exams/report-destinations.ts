// Where a facility's reports go: its EHR over MLLP (ORU^R01) or FHIR (DiagnosticReport), a fax number, an e-mail
// address. Each way is a destination on the report channel.
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
  const fax = optionalString(raw['fax'], join(at, 'fax'));
  if (fax !== undefined) destinations.fax = fax;
  const email = optionalString(raw['email'], join(at, 'email'));
  if (email !== undefined) {
    if (!email.includes('@')) throw new ValidationError(join(at, 'email'), 'expected an e-mail address');
    destinations.email = email;
  }
  return destinations;
}
