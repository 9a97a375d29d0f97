// Where a facility's reports go: its EHR over MLLP (ORU^R01) or FHIR (DiagnosticReport), a fax number, an e-mail
// address. Each way is a destination on the report channel (config/channels/reports-to-ehr.json), which looks the
// facility's entry up for every report. Secrets are never in the config: FHIR push auth names the environment
// variables that hold them, read at each send, so a rotated token needs no restart and no file holds it.
import { parseSenderTlsSettings } from '../runtime/listener-settings.ts';
import type { SenderTlsSettings } from '../runtime/tls-sender.ts';
import { expectE164, expectEmailAddress } from '../runtime/addresses.ts';
import {
  ValidationError,
  expectBoolean,
  expectKeys,
  expectNumber,
  expectObject,
  expectOneOf,
  expectPort,
  expectString,
  join,
  optionalString,
} from '../runtime/validate.ts';

/** The HL7 v2 versions the ORU^R01 builder writes (MSH-12). */
export const oruVersions = ['2.3', '2.4', '2.5.1'] as const;
export type OruVersion = (typeof oruVersions)[number];

export interface MllpEndpoint {
  host: string;
  port: number;
  /** TLS to the EHR's listener (runtime/tls-sender.ts); absent: plain TCP. */
  tls?: SenderTlsSettings;
  /** MSH-12 of the ORU^R01 the EHR receives; default 2.5.1. */
  version?: OruVersion;
  /** Add the report's PDF as an OBX of type ED (base64); default false. */
  includePdf?: boolean;
  /** MSH-5 and MSH-6 of what the EHR receives; default empty and the facility's first MSH-4 code. */
  receivingApplication?: string;
  receivingFacility?: string;
}

/** How the hub proves itself to the EHR's FHIR server; values are environment variable NAMES, never secrets. */
export type FhirPushAuth =
  | { type: 'bearer'; tokenEnv: string }
  | { type: 'client-credentials'; tokenUrl: string; clientIdEnv: string; clientSecretEnv: string; scope?: string };

export interface ReportDestinations {
  ehrMllp?: MllpEndpoint;
  ehrFhirBaseUrl?: string;
  ehrFhirAuth?: FhirPushAuth;
  fax?: string;
  email?: string;
  /** E-mail a signed link to the report, valid this long, instead of attaching the PDF. */
  emailLink?: { validHours: number };
}

/** A link longer-lived than a month is a standing door to the report; a facility that needs that wants the PDF. */
const maxLinkHours = 24 * 31;

export function parseReportDestinations(value: unknown, at: string): ReportDestinations {
  if (value === undefined) return {};
  const raw = expectObject(value, at);
  expectKeys(raw, at, ['ehrMllp', 'ehrFhirBaseUrl', 'ehrFhirAuth', 'fax', 'email', 'emailLink']);
  const destinations: ReportDestinations = {};
  if (raw['ehrMllp'] !== undefined) destinations.ehrMllp = parseMllpEndpoint(raw['ehrMllp'], join(at, 'ehrMllp'));
  const fhir = optionalString(raw['ehrFhirBaseUrl'], join(at, 'ehrFhirBaseUrl'));
  if (fhir !== undefined) {
    if (!/^https?:\/\//.test(fhir)) throw new ValidationError(join(at, 'ehrFhirBaseUrl'), 'expected an http(s) URL');
    destinations.ehrFhirBaseUrl = fhir.replace(/\/+$/, '');
  }
  if (raw['ehrFhirAuth'] !== undefined) {
    if (fhir === undefined) throw new ValidationError(join(at, 'ehrFhirAuth'), 'needs ehrFhirBaseUrl');
    destinations.ehrFhirAuth = parseFhirPushAuth(raw['ehrFhirAuth'], join(at, 'ehrFhirAuth'));
  }
  // Checked here, when the facility is saved, so a wrong number is refused with its path, not failed at the gateway.
  if (raw['fax'] !== undefined) destinations.fax = expectE164(raw['fax'], join(at, 'fax'));
  if (raw['email'] !== undefined) destinations.email = expectEmailAddress(raw['email'], join(at, 'email'));
  if (raw['emailLink'] !== undefined) {
    if (destinations.email === undefined) throw new ValidationError(join(at, 'emailLink'), 'needs email');
    const linkAt = join(at, 'emailLink');
    const emailLink = expectObject(raw['emailLink'], linkAt);
    expectKeys(emailLink, linkAt, ['validHours']);
    destinations.emailLink = {
      validHours: expectNumber(emailLink['validHours'], join(linkAt, 'validHours'), 1, maxLinkHours),
    };
  }
  return destinations;
}

function parseMllpEndpoint(value: unknown, at: string): MllpEndpoint {
  const mllp = expectObject(value, at);
  expectKeys(mllp, at, ['host', 'port', 'tls', 'version', 'includePdf', 'receivingApplication', 'receivingFacility']);
  const endpoint: MllpEndpoint = {
    host: expectString(mllp['host'], join(at, 'host')),
    port: expectPort(mllp['port'], join(at, 'port')),
  };
  const tls = parseSenderTlsSettings(mllp['tls'], join(at, 'tls'));
  if (tls !== undefined) endpoint.tls = tls;
  if (mllp['version'] !== undefined) endpoint.version = expectOneOf(mllp['version'], join(at, 'version'), oruVersions);
  if (mllp['includePdf'] !== undefined) endpoint.includePdf = expectBoolean(mllp['includePdf'], join(at, 'includePdf'));
  const application = optionalString(mllp['receivingApplication'], join(at, 'receivingApplication'));
  if (application !== undefined) endpoint.receivingApplication = application;
  const facility = optionalString(mllp['receivingFacility'], join(at, 'receivingFacility'));
  if (facility !== undefined) endpoint.receivingFacility = facility;
  return endpoint;
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function expectEnvName(value: unknown, at: string): string {
  const name = expectString(value, at);
  if (!envName.test(name))
    throw new ValidationError(at, 'expected the NAME of an environment variable holding the secret, not the secret');
  return name;
}

function parseFhirPushAuth(value: unknown, at: string): FhirPushAuth {
  const raw = expectObject(value, at);
  const type = expectOneOf(raw['type'], join(at, 'type'), ['bearer', 'client-credentials'] as const);
  if (type === 'bearer') {
    expectKeys(raw, at, ['type', 'tokenEnv']);
    return { type, tokenEnv: expectEnvName(raw['tokenEnv'], join(at, 'tokenEnv')) };
  }
  expectKeys(raw, at, ['type', 'tokenUrl', 'clientIdEnv', 'clientSecretEnv', 'scope']);
  const tokenUrl = expectString(raw['tokenUrl'], join(at, 'tokenUrl'));
  if (!/^https?:\/\//.test(tokenUrl)) throw new ValidationError(join(at, 'tokenUrl'), 'expected an http(s) URL');
  const auth: FhirPushAuth = {
    type,
    tokenUrl,
    clientIdEnv: expectEnvName(raw['clientIdEnv'], join(at, 'clientIdEnv')),
    clientSecretEnv: expectEnvName(raw['clientSecretEnv'], join(at, 'clientSecretEnv')),
  };
  const scope = optionalString(raw['scope'], join(at, 'scope'));
  if (scope !== undefined) auth.scope = scope;
  return auth;
}
