// What both report benchmarks (run.ts and ab.ts) post and to which hub: the real hub of a checkout with the sample
// facility reporting to the bench's MLLP receiver over the reports-to-ehr channel's HL7 destination alone, and the
// Patient, ServiceRequest and final DiagnosticReport they send.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { hashToken } from '../../http/auth.ts';
import { repoRoot, startHub, waitHealthy, type HubProcess } from '../../test/support/hub-process.ts';

/**
 * The hub of the checkout at `root`, healthy, on an embedded store; `token` has the integration role. `extraConfig`
 * is YAML appended to the config (whole sections).
 */
export async function reportsHub(
  ehrPort: number,
  token: string,
  options: { root?: string; extraConfig?: string } = {},
): Promise<HubProcess> {
  const root = options.root ?? repoRoot;
  const facility = JSON.parse(await readFile(path.join(root, 'config/facilities/valley-general.json'), 'utf8'));
  facility.reportDestinations = { ehrMllp: { host: '127.0.0.1', port: ehrPort, version: '2.5.1', includePdf: true } };
  const channel = JSON.parse(await readFile(path.join(root, 'config/channels/reports-to-ehr.json'), 'utf8'));
  channel.destinations = channel.destinations.filter((d: { name: string }) => d.name === 'ehr-hl7');
  const hub = await startHub({
    ...(options.root === undefined ? {} : { root }),
    config: `dataDir: {{dataDir}}
logLevel: warn
http:
  host: 127.0.0.1
  port: {{port}}
auth:
  tokens:
    - name: bench
      sha256: ${hashToken(token)}
      roles: [integration]
channels:
  dir: {{channelsDir}}
facilities:
  dir: {{facilitiesDir}}
dicom:
  enabled: false
${options.extraConfig ?? ''}`,
    channels: [channel],
    facilities: [facility],
  });
  await waitHealthy(hub);
  return hub;
}

export const benchPatient = {
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.3.9999.1', value: 'BENCH-REPORTS' }],
  name: [{ family: 'Müller', given: ['Zoë'] }],
  birthDate: '1961-02-03',
};

/** A CT head order of the sample facility for `patientId`, with its placer number. */
export const serviceRequest = (patientId: string, placer: string) => ({
  resourceType: 'ServiceRequest',
  identifier: [
    { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC' }] }, value: placer },
  ],
  status: 'active',
  intent: 'order',
  priority: 'routine',
  code: { coding: [{ system: 'http://loinc.org', code: '24725-4', display: 'CT Head' }] },
  orderDetail: [{ coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }] }],
  subject: { reference: `Patient/${patientId}` },
  requester: { identifier: { system: 'urn:rso-hub:facility', value: 'VALLEYGEN' } },
  occurrenceDateTime: '2026-03-02T14:30:00Z',
});

const findings = Array.from({ length: 12 }, (_, n) => `Finding ${n + 1}: the structures are normal in size and form.`);

/** The signed report of the exam `examNumber` (the ServiceRequest's id), twelve lines of findings. */
export const finalReport = (examNumber: string) => ({
  resourceType: 'DiagnosticReport',
  status: 'final',
  basedOn: [{ reference: `ServiceRequest/${examNumber}` }],
  code: { text: 'CT head' },
  resultsInterpreter: [{ reference: 'Practitioner/rad-chen' }],
  conclusion: 'No acute intracranial abnormality.',
  presentedForm: [{ contentType: 'text/plain', data: Buffer.from(findings.join('\n')).toString('base64') }],
});
