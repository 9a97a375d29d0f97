// Reports through a running hub process: an order by FHIR transaction, a final DiagnosticReport by FHIR, the PDF
// the hub rendered on disk and served by the web app's API; after a SIGKILL the restarted hub still has the
// report, its exam final, and serves the same PDF (its size and SHA-256 checked).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Bundle, DiagnosticReport } from '@medplum/fhirtypes';
import test from 'ava';
import { api, repoRoot, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

async function facility(): Promise<{ code: string } & Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(repoRoot, 'config', 'facilities', 'valley-general.json'), 'utf8'));
}

const fhirJson = { 'content-type': 'application/fhir+json' };

test('a final DiagnosticReport gets its PDF on disk, served by /api, and both survive a SIGKILL', async (t) => {
  const hub = await startHub({ facilities: [await facility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const transaction = await readFile(
    path.join(repoRoot, 'test', 'fixtures', 'fhir', 'transaction-new-patient-and-order.json'),
    'utf8',
  );
  const ordered = await api(hub, '/fhir/R4', { method: 'POST', body: transaction, headers: fhirJson });
  t.is(ordered.status, 200);
  const bundle = (await ordered.json()) as Bundle;
  const examNumber = bundle.entry
    ?.find((e) => e.response?.location?.startsWith('ServiceRequest/'))
    ?.response?.location?.split('/')[1];
  t.truthy(examNumber);
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    status: 'final',
    basedOn: [{ reference: `ServiceRequest/${examNumber}` }],
    code: { text: 'CT head' },
    resultsInterpreter: [{ reference: 'Practitioner/rad-chen' }],
    conclusion: 'No acute intracranial abnormality.',
  };
  const created = await api(hub, '/fhir/R4/DiagnosticReport', {
    method: 'POST',
    body: JSON.stringify(report),
    headers: fhirJson,
  });
  t.is(created.status, 201);
  const body = (await created.json()) as DiagnosticReport;
  t.is(body.presentedForm?.[0]?.contentType, 'application/pdf');
  const stored = (await (await api(hub, `/api/reports/${body.id}`)).json()) as {
    documentId: string;
    attachments: Array<{ id: string; path: string }>;
  };
  t.is(stored.documentId, `rendered-${body.meta?.versionId}.pdf`);
  const file = path.join(hub.dataDir, stored.attachments.find((a) => a.id === stored.documentId)!.path);
  t.true((await stat(file)).size > 1000);
  const document = await api(hub, `/api/reports/${body.id}/document`);
  t.is(document.headers.get('content-type'), 'application/pdf');
  const bytes = Buffer.from(await document.arrayBuffer());
  t.deepEqual(bytes, await readFile(file));

  await stopHub(hub, 'SIGKILL');
  const again = await startHub({ facilities: [await facility()], dataDir: hub.dataDir });
  t.teardown(() => void stopHub(again, 'SIGKILL'));
  await waitHealthy(again);
  const after = await api(again, `/api/reports/${body.id}`);
  t.is(((await after.json()) as { state: string }).state, 'final');
  const exam = await api(again, `/fhir/R4/ServiceRequest/${examNumber}`);
  t.is(((await exam.json()) as { status: string }).status, 'completed');
  t.deepEqual(Buffer.from(await (await api(again, `/api/reports/${body.id}/document`)).arrayBuffer()), bytes);
});
