// DiagnosticReport over the hub's FHIR API: a round trip with fhir-kit-client (a client nobody here wrote), the
// PDF in presentedForm, If-Match, search, and the bad input a dictation system or EHR may send, each refused
// with an OperationOutcome and nothing stored.
import type { Bundle, CapabilityStatement, DiagnosticReport, OperationOutcome } from '@medplum/fhirtypes';
import test from 'ava';
import { Client } from 'fhir-kit-client';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { renderReportPdfFile } from '../../documents/report-pdf-file.ts';
import { orderedExam } from '../exams/report-setup.ts';
import { issueExpression, issueText, startFhirServer, tokens } from './server.ts';

function finalReport(examNumber: string, extra: Partial<DiagnosticReport> = {}): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    status: 'final',
    basedOn: [{ reference: `ServiceRequest/${examNumber}` }],
    code: { text: 'CT head' },
    resultsInterpreter: [{ reference: 'Practitioner/rad-chen' }],
    conclusion: 'No acute intracranial abnormality.',
    presentedForm: [
      { contentType: 'text/plain', data: Buffer.from('Ventricles normal. No bleed.').toString('base64') },
    ],
    ...extra,
  };
}

async function scan(): Promise<string> {
  const pdf = await PDFDocument.create();
  pdf
    .addPage([595, 842])
    .drawText('Scanned report', { x: 50, y: 780, font: await pdf.embedFont(StandardFonts.Helvetica) });
  return Buffer.from(await pdf.save()).toString('base64');
}

test('a round trip with fhir-kit-client: create final, read with its PDF, vread, search, amend with If-Match', async (t) => {
  const hub = await startFhirServer(t);
  hub.exams.reports.renderWith(renderReportPdfFile);
  const exam = await orderedExam(hub.exams, 'DR1');
  const client = new Client({ baseUrl: hub.base, bearerToken: tokens.integration });
  const created = (await client.create({
    resourceType: 'DiagnosticReport',
    body: finalReport(exam.examNumber, { identifier: [{ system: 'urn:dictation', value: 'D-77' }] }) as never,
  })) as unknown as DiagnosticReport;
  t.is(created.status, 'final');
  t.is(created.id, `${exam.examNumber}-R1`);
  t.is(created.basedOn?.[0]?.reference, `ServiceRequest/${exam.examNumber}`);
  t.is(created.subject?.reference, `Patient/${exam.patientId}`);
  t.deepEqual(created.resultsInterpreter, [{ reference: 'Practitioner/rad-chen', display: 'Dr. Wei Chen' }]);
  t.is(created.imagingStudy?.length, 1);
  const pdf = created.presentedForm?.find((f) => f.contentType === 'application/pdf');
  t.is(
    Buffer.from(pdf?.data ?? '', 'base64')
      .subarray(0, 5)
      .toString('latin1'),
    '%PDF-',
  );
  const text = created.presentedForm?.find((f) => f.contentType?.startsWith('text/plain'));
  t.is(Buffer.from(text?.data ?? '', 'base64').toString('utf8'), 'Ventricles normal. No bleed.');

  const read = (await client.read({
    resourceType: 'DiagnosticReport',
    id: created.id!,
  })) as unknown as DiagnosticReport;
  t.is(read.meta?.versionId, created.meta?.versionId);
  const vread = (await client.vread({
    resourceType: 'DiagnosticReport',
    id: created.id!,
    version: read.meta!.versionId!,
  })) as unknown as DiagnosticReport;
  t.is(vread.conclusion, 'No acute intracranial abnormality.');
  const found = (await client.search({
    resourceType: 'DiagnosticReport',
    searchParams: {
      'based-on': `ServiceRequest/${exam.examNumber}`,
      status: 'final',
      identifier: 'urn:dictation|D-77',
    },
  })) as unknown as Bundle;
  t.deepEqual(
    found.entry?.map((e) => e.resource?.id),
    [created.id],
  );
  const serviceRequest = await hub.request('GET', `/ServiceRequest/${exam.examNumber}`);
  t.is(serviceRequest.body.resourceType, 'ServiceRequest');
  t.is((await hub.exams.require(exam.examNumber)).status, 'final');

  const amended = (await client.update({
    resourceType: 'DiagnosticReport',
    id: created.id!,
    body: { ...read, status: 'amended', conclusion: 'Small old infarct, left.' } as never,
    options: { headers: { 'If-Match': `W/"${read.meta?.versionId}"` } },
  })) as unknown as DiagnosticReport;
  t.is(amended.status, 'amended');
  t.is(amended.conclusion, 'Small old infarct, left.');
  t.is((await hub.exams.require(exam.examNumber)).status, 'amended');
  const stale = await hub.request<OperationOutcome>('PUT', `/DiagnosticReport/${created.id}`, {
    body: { ...read, status: 'amended', conclusion: 'again' },
    headers: { 'if-match': `W/"${read.meta?.versionId}"` },
  });
  t.is(stale.status, 412);
  t.regex(issueText(stale.body), /If-Match version/);
});

test('the CapabilityStatement lists DiagnosticReport with its search parameters', async (t) => {
  const hub = await startFhirServer(t);
  const metadata = await hub.request<CapabilityStatement>('GET', '/metadata', { token: null });
  const entry = metadata.body.rest?.[0]?.resource?.find((r) => r.type === 'DiagnosticReport');
  t.deepEqual(entry?.searchParam?.map((p) => p.name).sort(), [
    '_count',
    '_id',
    '_offset',
    '_sort',
    'based-on',
    'date',
    'identifier',
    'patient',
    'status',
    'subject',
  ]);
});

test('bad input: unknown exam 422, another facility 403, final without interpreter 422, amend of a draft 409', async (t) => {
  const hub = await startFhirServer(t);
  const exam = await orderedExam(hub.exams, 'DR2');
  const unknown = await hub.request<OperationOutcome>('POST', '/DiagnosticReport', {
    body: finalReport('RSO-1999-000001'),
  });
  t.is(unknown.status, 422);
  t.is(unknown.body.resourceType, 'OperationOutcome');
  t.deepEqual(issueExpression(unknown.body), ['DiagnosticReport.basedOn']);
  const foreign = await hub.request<OperationOutcome>('POST', '/DiagnosticReport', {
    body: finalReport(exam.examNumber),
    token: tokens.otherRadiologist,
  });
  t.is(foreign.status, 403);
  t.regex(issueText(foreign.body), /facility VALLEYGEN/);
  const anonymous = { ...finalReport(exam.examNumber) };
  delete anonymous.resultsInterpreter;
  const unsigned = await hub.request<OperationOutcome>('POST', '/DiagnosticReport', { body: anonymous });
  t.is(unsigned.status, 422);
  t.deepEqual(issueExpression(unsigned.body), ['DiagnosticReport.resultsInterpreter']);
  const stranger = await hub.request<OperationOutcome>('POST', '/DiagnosticReport', {
    body: finalReport(exam.examNumber, { resultsInterpreter: [{ reference: 'Practitioner/dr-nobody' }] }),
  });
  t.is(stranger.status, 422);
  t.regex(issueText(stranger.body), /not a radiologist of facility VALLEYGEN/);
  t.deepEqual(await hub.exams.reports.listByExam(exam.examNumber), [], 'nothing was stored');

  const draft = await hub.request<DiagnosticReport>('POST', '/DiagnosticReport', {
    body: finalReport(exam.examNumber, { status: 'partial' }),
    token: tokens.radiologist,
  });
  t.is(draft.status, 201);
  t.is(draft.body.status, 'partial');
  const amendDraft = await hub.request<OperationOutcome>('PUT', `/DiagnosticReport/${draft.body.id}`, {
    body: { ...draft.body, status: 'amended' },
  });
  t.is(amendDraft.status, 409);
  t.regex(issueText(amendDraft.body), /only a final report is amended; this one is draft/);
  const reader = await hub.request<OperationOutcome>('POST', '/DiagnosticReport', {
    body: finalReport(exam.examNumber),
    token: tokens.reader,
  });
  t.is(reader.status, 403);
});

test('a scanned PDF in presentedForm becomes the document; a corrupt one is refused with 422, nothing stored', async (t) => {
  const hub = await startFhirServer(t);
  const exam = await orderedExam(hub.exams, 'DR3');
  const corrupt = Buffer.concat([Buffer.from('%PDF-1.4\n1 0 obj\n<<'), Buffer.alloc(300, 0x20)]).toString('base64');
  const refused = await hub.request<OperationOutcome>('POST', '/DiagnosticReport', {
    body: finalReport(exam.examNumber, { presentedForm: [{ contentType: 'application/pdf', data: corrupt }] }),
  });
  t.is(refused.status, 422);
  t.deepEqual(issueExpression(refused.body), ['DiagnosticReport.presentedForm[0]']);
  t.regex(issueText(refused.body), /PDF cannot be read/);
  t.deepEqual(await hub.exams.reports.listByExam(exam.examNumber), []);
  const scanned = await scan();
  const created = await hub.request<DiagnosticReport>('POST', '/DiagnosticReport', {
    body: finalReport(exam.examNumber, {
      presentedForm: [{ contentType: 'application/pdf', data: scanned, title: 'scan.pdf' }],
    }),
  });
  t.is(created.status, 201);
  t.is(created.body.status, 'final');
  t.deepEqual(
    created.body.presentedForm?.map((f) => [f.contentType, f.title, f.data === scanned]),
    [['application/pdf', 'scan.pdf', true]],
  );
  const tooBig = await hub.request<OperationOutcome>('POST', '/DiagnosticReport', {
    body: finalReport(exam.examNumber, {
      presentedForm: [{ contentType: 'application/pdf', data: Buffer.alloc(11 * 1024 * 1024).toString('base64') }],
    }),
  });
  t.is(tooBig.status, 413);
});

test('search by patient, status and date, with _count and _sort; a facility token sees only its reports', async (t) => {
  const hub = await startFhirServer(t);
  const a = await orderedExam(hub.exams, 'DR4');
  const b = await orderedExam(hub.exams, 'DR5');
  const first = await hub.request<DiagnosticReport>('POST', '/DiagnosticReport', { body: finalReport(a.examNumber) });
  const second = await hub.request<DiagnosticReport>('POST', '/DiagnosticReport', {
    body: finalReport(b.examNumber, { status: 'preliminary' }),
  });
  const ids = async (query: string, token?: string) =>
    (await hub.request<Bundle>('GET', `/DiagnosticReport?${query}`, token ? { token } : {})).body.entry?.map(
      (e) => e.resource?.id,
    ) ?? [];
  t.deepEqual(await ids(`patient=Patient/${a.patientId}`), [first.body.id]);
  t.deepEqual(await ids('status=preliminary'), [second.body.id]);
  t.deepEqual(await ids('date=ge2000-01-01&_sort=_id'), [first.body.id, second.body.id]);
  t.deepEqual(await ids('date=lt2000-01-01'), []);
  const page = await hub.request<Bundle>('GET', '/DiagnosticReport?_count=1&_sort=-_lastUpdated');
  t.is(page.body.total, 2);
  t.deepEqual(
    page.body.entry?.map((e) => e.resource?.id),
    [second.body.id],
  );
  t.deepEqual(await ids('status=final', tokens.otherFacility), []);
  const hidden = await hub.request('GET', `/DiagnosticReport/${first.body.id}`, { token: tokens.otherFacility });
  t.is(hidden.status, 404);
  const unknownParameter = await hub.request('GET', '/DiagnosticReport?performer=x');
  t.is(unknownParameter.status, 400);
});
