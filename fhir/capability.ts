// The CapabilityStatement (R4 capabilitystatement.html) says exactly what this server does, so a client can
// find out before it tries. /metadata is served without authentication: R4 http.html#capabilities expects
// clients to read it first, and SMART-style clients discover the security scheme from it; it holds no data.
import type { CapabilityStatement, CapabilityStatementRestResourceSearchParam } from '@medplum/fhirtypes';
import { patientElementsNotKept } from './patient-mapping.ts';
import { serviceRequestElementsNotKept } from './service-request-mapping.ts';

const date = '2026-01-01';

/** A write is accepted with these elements, but they are not stored and a read does not return them. */
function notKept(elements: readonly string[]): string {
  return ` Not kept on write (accepted, not stored, absent on read): ${elements.join('; ')}.`;
}

const identitySystems =
  ' Identifier and code systems are URIs: HL7 CX-4, EI-2 and CE-3 codes and DICOM Issuer of Patient ID are mapped by the facility configuration, else urn:rso-hub:facility:<facility>:<authority|namespace|coding>:<code>.';

const common: CapabilityStatementRestResourceSearchParam[] = [
  { name: '_id', type: 'token' },
  { name: '_lastUpdated', type: 'date' },
  { name: '_count', type: 'number' },
  { name: '_offset', type: 'number', documentation: 'paging offset used by the next/previous links' },
  { name: '_sort', type: 'string' },
];

export function capabilityStatement(base: string, software: { name: string; version: string }): CapabilityStatement {
  const interactions = [
    { code: 'read' },
    { code: 'vread' },
    { code: 'update' },
    { code: 'create' },
    { code: 'search-type' },
  ] as const;
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    software,
    implementation: { description: 'rso-hub FHIR R4 API: patients, exam orders and reports of the RSO', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: {
          description:
            'Bearer tokens (RFC 6750) on every request except GET /metadata. Tokens may be limited to facilities.',
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'OAuth',
                  display: 'OAuth',
                },
              ],
              text: 'Bearer token',
            },
          ],
        },
        interaction: [
          {
            code: 'transaction',
            documentation:
              'Patient and ServiceRequest entries, POST and PUT; checked completely before anything is stored',
          },
        ],
        resource: [
          {
            type: 'Patient',
            documentation:
              'vread answers the current version only (past versions are not kept as resources). A merged patient has active false and link replaced-by.' +
              identitySystems +
              notKept(patientElementsNotKept),
            interaction: [...interactions],
            versioning: 'versioned-update',
            readHistory: false,
            updateCreate: false,
            conditionalCreate: true,
            conditionalUpdate: false,
            conditionalDelete: 'not-supported',
            searchParam: [
              ...common,
              { name: 'identifier', type: 'token' },
              { name: 'family', type: 'string' },
              { name: 'name', type: 'string', documentation: 'the family name, as family' },
              { name: 'birthdate', type: 'date' },
            ],
          },
          {
            type: 'ServiceRequest',
            documentation:
              'An exam of the RSO; id = the exam number. The exact exam status is in the extension urn:rso-hub:fhir:StructureDefinition:exam-status; the ordering facility is requester.identifier (system urn:rso-hub:facility). authoredOn is when the order was placed (HL7 ORC-9), else when the hub received it. vread answers the current version only.' +
              identitySystems +
              notKept(serviceRequestElementsNotKept),
            interaction: [...interactions],
            versioning: 'versioned-update',
            readHistory: false,
            updateCreate: false,
            conditionalCreate: true,
            conditionalUpdate: false,
            conditionalDelete: 'not-supported',
            searchParam: [
              ...common,
              { name: 'identifier', type: 'token' },
              { name: 'patient', type: 'reference' },
              { name: 'subject', type: 'reference' },
              { name: 'status', type: 'token' },
              { name: 'authored', type: 'date' },
            ],
          },
          {
            type: 'DiagnosticReport',
            documentation:
              "A radiology report on an exam; id = the report id (also identifier urn:rso-hub:report-id). basedOn must be the exam's ServiceRequest; resultsInterpreter a Practitioner whose id is a radiologist of the exam's facility (required for final and amended); conclusion is the impression; presentedForm carries the findings as text/plain and the document (the PDF the hub renders for final and amended reports, or an uploaded PDF, TIFF or JPEG scan). partial/registered is a draft; corrected and appended are amendments. A final report is changed only by an update with status amended. date and _sort=issued use when it was signed (else when it was made). vread answers the current version only.",
            interaction: [...interactions],
            versioning: 'versioned-update',
            readHistory: false,
            updateCreate: false,
            conditionalCreate: false,
            conditionalUpdate: false,
            conditionalDelete: 'not-supported',
            searchParam: [
              { name: '_id', type: 'token' },
              { name: '_count', type: 'number' },
              { name: '_offset', type: 'number', documentation: 'paging offset used by the next/previous links' },
              { name: '_sort', type: 'string', documentation: 'issued, date, _lastUpdated, _id' },
              { name: 'identifier', type: 'token' },
              { name: 'patient', type: 'reference' },
              { name: 'subject', type: 'reference' },
              { name: 'based-on', type: 'reference' },
              { name: 'status', type: 'token' },
              { name: 'date', type: 'date', documentation: 'when the report was signed (else made)' },
            ],
          },
          {
            type: 'ImagingStudy',
            documentation:
              'DICOM studies the hub received (C-STORE or STOW-RS), once matched to an exam; id = the Study Instance UID. Read-only: status available once the study is complete. vread answers the current version only.',
            interaction: [{ code: 'read' }, { code: 'vread' }, { code: 'search-type' }],
            versioning: 'versioned',
            readHistory: false,
            updateCreate: false,
            conditionalCreate: false,
            conditionalUpdate: false,
            conditionalDelete: 'not-supported',
            searchParam: [
              { name: '_id', type: 'token' },
              { name: '_count', type: 'number' },
              { name: '_offset', type: 'number', documentation: 'paging offset used by the next/previous links' },
              {
                name: 'identifier',
                type: 'token',
                documentation: 'urn:dicom:uid|urn:oid:<Study UID>, or the accession number',
              },
              { name: 'patient', type: 'reference' },
              { name: 'subject', type: 'reference' },
              { name: 'started', type: 'date', documentation: 'the study date (day precision)' },
              { name: 'based-on', type: 'reference' },
            ],
          },
        ],
      },
    ],
  };
}

/**
 * The search parameters of a resource type as the CapabilityStatement lists them, plus `_format` (every answer is
 * JSON): a search with any other parameter is refused or, leniently, leaves it out (fhir/search.ts).
 */
export function searchParameterNames(type: string): ReadonlySet<string> {
  if (searchNames === undefined) {
    const resources = capabilityStatement('', { name: '', version: '' }).rest?.[0]?.resource ?? [];
    searchNames = new Map(
      resources.map((r) => [r.type, new Set([...(r.searchParam ?? []).map((p) => p.name), '_format'])]),
    );
  }
  return searchNames.get(type) ?? new Set();
}

let searchNames: Map<string, ReadonlySet<string>> | undefined;
