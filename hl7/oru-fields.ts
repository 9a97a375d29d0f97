// Field values the ORU^R01 builder writes: escaped components, HL7 timestamps, and the short codes HL7 wants
// where the hub keeps URIs. The facility's identitySystems table maps codes to URIs on the way in
// (exams/identity-systems.ts); here it is read backwards, so an EHR gets back the CX-4 or EI-2 it sent us.
import type { IdentitySystems } from '../exams/identity-systems.ts';
import { escapeValue, type Delimiters } from './escape.ts';

/** A value already encoded (subcomponents built by subcomponents()), which must not be escaped again. */
export interface Encoded {
  encoded: string;
}

type Part = string | undefined | Encoded;

function encode(part: Part, d: Delimiters): string {
  if (part === undefined) return '';
  return typeof part === 'string' ? escapeValue(part, d) : part.encoded;
}

/** Components joined with `^`, each escaped; trailing empty components dropped (ch. 2.5.3). */
export function components(d: Delimiters, ...parts: Part[]): string {
  return trimEnd(
    parts.map((p) => encode(p, d)),
    d.component,
  );
}

/** Subcomponents joined with `&`, each escaped (a CN inside an NDL, an HD inside a CX). */
export function subcomponents(d: Delimiters, ...parts: Array<string | undefined>): Encoded {
  return {
    encoded: trimEnd(
      parts.map((p) => encode(p, d)),
      d.subcomponent,
    ),
  };
}

function trimEnd(parts: string[], separator: string): string {
  let end = parts.length;
  while (end > 0 && parts[end - 1] === '') end--;
  return parts.slice(0, end).join(separator);
}

/** ISO 8601 UTC -> HL7 DTM with seconds and an explicit zone (ch. 2A.22), e.g. 20261205081500+0000. */
export function hl7Timestamp(iso: string | undefined): string {
  if (iso === undefined) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const t = date.toISOString();
  return `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}+0000`;
}

/** YYYY-MM-DD (or YYYY-MM, YYYY) -> DT. */
export function hl7Date(date: string | undefined): string {
  return date === undefined ? '' : date.replaceAll('-', '');
}

type Kind = keyof IdentitySystems;

const urnSegment: Readonly<Record<Kind, string>> = {
  authorities: 'authority',
  namespaces: 'namespace',
  codingSystems: 'coding',
};

const wellKnownCodingSystems: Readonly<Record<string, string>> = {
  'http://loinc.org': 'LN',
  'http://snomed.info/sct': 'SCT',
  'http://www.ama-assn.org/go/cpt': 'C4',
  'http://dicom.nema.org/resources/ontology/DCM': 'DCM',
  'http://radlex.org': 'RADLEX',
};

/** An HD as the receiver best reads it: the code it sent us, else `&<OID>&ISO` or `&<URI>&URI` (table 0301). */
export interface HdParts {
  namespace?: string;
  universalId?: string;
  universalIdType?: string;
}

/** The short code (or HD parts) for a URI the hub keeps: the facility's table, the fallback URN, an OID. */
export function codeOfSystem(facility: string, systems: IdentitySystems | undefined, kind: Kind, uri: string): HdParts {
  const table = systems?.[kind] ?? {};
  for (const [code, mapped] of Object.entries(table)) if (mapped === uri) return { namespace: code };
  const prefix = `urn:rso-hub:facility:${encodeURIComponent(facility)}:${urnSegment[kind]}:`;
  if (uri.startsWith(prefix)) return { namespace: decodeURIComponent(uri.slice(prefix.length)) };
  if (kind === 'codingSystems') {
    const known = wellKnownCodingSystems[uri];
    if (known !== undefined) return { namespace: known };
  }
  if (uri.startsWith('urn:oid:')) return { universalId: uri.slice('urn:oid:'.length), universalIdType: 'ISO' };
  return { universalId: uri, universalIdType: 'URI' };
}

/** "Dr. Wei Chen" -> family Chen, given Wei, prefix Dr.: the XCN/CNN parts a person's display name gives. */
export function nameParts(name: string | undefined): { family?: string; given?: string; prefix?: string } {
  const words = (name ?? '').trim().split(/\s+/).filter(Boolean);
  const prefix = words.length > 1 && /^(dr|prof|mr|mrs|ms)\.?$/i.test(words[0]!) ? words.shift() : undefined;
  if (words.length === 0) return {};
  const family = words.pop();
  return {
    ...(family ? { family } : {}),
    ...(words.length > 0 ? { given: words.join(' ') } : {}),
    ...(prefix ? { prefix } : {}),
  };
}
