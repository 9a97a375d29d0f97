// Identity systems: the URI every identifier and code gets, whichever protocol brought it. HL7 names an
// assigning authority (CX-4), a number's namespace (EI-2) or a coding system (CE-3) by a short code; DICOM
// names the issuer of a PatientID (0010,0021) the same way; FHIR needs an absolute URI (R4 Identifier.system,
// Coding.system). Each facility maps its codes to URIs in its config; an unmapped code gets a URN built from it
// (README "Identity systems"), so an MRN from HL7, DICOM and FHIR is one patient identifier.
import { ValidationError, expectKeys, expectObject, expectString, join } from '../runtime/validate.ts';

export interface IdentitySystems {
  /** CX-4 assigning authorities and DICOM Issuer of Patient ID values; the facility code is its own MRN. */
  authorities?: Record<string, string>;
  /** EI-2 namespace ids of placer and filler order numbers. */
  namespaces?: Record<string, string>;
  /** Coding system names (HL7 table 0396, CE-3/CWE-3) of procedure codes. */
  codingSystems?: Record<string, string>;
}

/** What the mapping needs of a facility: its code and its table. */
export interface SystemsOwner {
  code: string;
  identitySystems?: IdentitySystems;
}

const kinds = ['authorities', 'namespaces', 'codingSystems'] as const;
type Kind = (typeof kinds)[number];

/** The URN segment of each kind: `urn:rso-hub:facility:<facility>:<segment>:<code>`. */
const segment: Readonly<Record<Kind, string>> = {
  authorities: 'authority',
  namespaces: 'namespace',
  codingSystems: 'coding',
};

// HL7 table 0396 names with a published FHIR URI (terminology.hl7.org v2 to FHIR mapping, R4 terminologies).
// A facility's own table wins, so a site that uses one of these names for something else can say so.
const wellKnownCodingSystems: Readonly<Record<string, string>> = {
  LN: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  C4: 'http://www.ama-assn.org/go/cpt',
  CPT4: 'http://www.ama-assn.org/go/cpt',
  CPT: 'http://www.ama-assn.org/go/cpt',
  DCM: 'http://dicom.nema.org/resources/ontology/DCM',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  I10C: 'http://hl7.org/fhir/sid/icd-10-cm',
  I9C: 'http://hl7.org/fhir/sid/icd-9-cm',
  RADLEX: 'http://radlex.org',
};

/** An absolute URI as RFC 3986 §3 spells its start (scheme ":"), without white space. */
export function isAbsoluteUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/.test(value);
}

/** ISO OIDs (as HD universal ids of type ISO carry them). */
function isOid(value: string): boolean {
  return /^[0-2](\.(0|[1-9][0-9]*))+$/.test(value);
}

export function parseIdentitySystems(value: unknown, at: string): IdentitySystems {
  const raw = expectObject(value, at);
  expectKeys(raw, at, [...kinds]);
  const systems: IdentitySystems = {};
  for (const kind of kinds) {
    if (raw[kind] === undefined) continue;
    const table = expectObject(raw[kind], join(at, kind));
    const parsed: Record<string, string> = {};
    for (const [code, uri] of Object.entries(table)) {
      const path = join(join(at, kind), code);
      if (code.trim() === '')
        throw new ValidationError(path, 'expected a code (the HL7 or DICOM value), not an empty key');
      const text = expectString(uri, path);
      if (!isAbsoluteUri(text))
        throw new ValidationError(path, `expected an absolute URI (e.g. urn:oid:1.2.3 or http://...), got "${text}"`);
      parsed[code.trim()] = text;
    }
    systems[kind] = parsed;
  }
  return systems;
}

/** The documented fallback: `urn:rso-hub:facility:<facility>:<authority|namespace|coding>:<code>`, percent-encoded. */
export function fallbackSystem(facility: string, kind: Kind, code: string): string {
  return `urn:rso-hub:facility:${encodeURIComponent(facility)}:${segment[kind]}:${encodeURIComponent(code)}`;
}

function resolve(owner: SystemsOwner, kind: Kind, code: string): string {
  const trimmed = code.trim();
  const mapped = owner.identitySystems?.[kind]?.[trimmed];
  if (mapped !== undefined) return mapped;
  if (kind === 'codingSystems') {
    const known = wellKnownCodingSystems[trimmed.toUpperCase()];
    if (known !== undefined) return known;
  }
  // A sender that already sends a URI (CX-4.2 of type URI, a FHIR-minded CE-3) keeps it; other codes with a
  // colon ("TEC:MRN") are codes, not schemes.
  if (isAbsoluteUri(trimmed) && /^(urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:|https?:\/\/)/i.test(trimmed)) return trimmed;
  if (isOid(trimmed)) return `urn:oid:${trimmed}`;
  return fallbackSystem(owner.code, kind, trimmed);
}

/**
 * The system of a patient identifier issued by `authority` (CX-4, DICOM Issuer of Patient ID). No authority
 * (an empty CX-4, no (0010,0021)) is the facility's own MRN, named by the facility code.
 */
export function authoritySystem(owner: SystemsOwner, authority: string | undefined): string {
  const code = authority?.trim() ?? '';
  return resolve(owner, 'authorities', code === '' ? owner.code : code);
}

/** The system of a placer/filler number whose EI-2 namespace is `namespace`; none without one. */
export function namespaceSystem(owner: SystemsOwner, namespace: string | undefined): string | undefined {
  const code = namespace?.trim() ?? '';
  return code === '' ? undefined : resolve(owner, 'namespaces', code);
}

/** The system of a code whose coding system name (CE-3) is `name`; none without one. */
export function codingSystem(owner: SystemsOwner, name: string | undefined): string | undefined {
  const code = name?.trim() ?? '';
  return code === '' ? undefined : resolve(owner, 'codingSystems', code);
}

/** R4's code system for an HL7 v2 table, e.g. 0203 (identifier type), 0074 (diagnostic service section). */
export function hl7TableSystem(table: string): string {
  return `http://terminology.hl7.org/CodeSystem/v2-${table}`;
}

/** The key of a patient known to DICOM only by its study (no PatientID): one patient per study. */
export function studyPatientSystem(owner: SystemsOwner): string {
  return `urn:rso-hub:facility:${encodeURIComponent(owner.code)}:study-without-patient-id`;
}
