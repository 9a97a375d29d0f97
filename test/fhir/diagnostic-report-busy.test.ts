// A final DiagnosticReport while the report PDF threads are full: 503 with Retry-After and an OperationOutcome
// (issue type throttled), and nothing stored, so the client's retry is the only copy. The renderer here refuses
// as a full ReportPdfPool does (test/documents/report-pdf-pool.test.ts fills a real one), because when a real
// pool's thread frees up relative to an HTTP request is timing, which a test must not depend on.
import type { Bundle, DiagnosticReport, OperationOutcome } from '@medplum/fhirtypes';
import test from 'ava';
import { renderReportPdfFile } from '../../documents/report-pdf-file.ts';
import { BusyError } from '../../runtime/busy.ts';
import { orderedExam } from '../exams/report-setup.ts';
import { issueText, startFhirServer } from './server.ts';

test('a final report while the PDF threads are full is answered 503 with Retry-After, and nothing is stored', async (t) => {
  const hub = await startFhirServer(t);
  let busy = true;
  hub.exams.reports.renderWith((input, file) =>
    busy
      ? Promise.reject(new BusyError('the report PDF renderer is busy (3 renders ahead)', 2))
      : renderReportPdfFile(input, file),
  );
  const exam = await orderedExam(hub.exams, 'BUSY1');
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    status: 'final',
    basedOn: [{ reference: `ServiceRequest/${exam.examNumber}` }],
    code: { text: 'CT head' },
    resultsInterpreter: [{ reference: 'Practitioner/rad-chen' }],
    conclusion: 'No acute intracranial abnormality.',
  };
  const refused = await hub.request<OperationOutcome>('POST', '/DiagnosticReport', { body: report });
  t.is(refused.status, 503);
  t.is(refused.headers.get('retry-after'), '2');
  t.is(refused.body.resourceType, 'OperationOutcome');
  t.is(refused.body.issue?.[0]?.code, 'throttled');
  t.regex(issueText(refused.body), /busy/);
  const stored = await hub.request<Bundle>('GET', `/DiagnosticReport?based-on=ServiceRequest/${exam.examNumber}`);
  t.is(stored.body.entry?.length ?? 0, 0);
  t.deepEqual((await hub.exams.get(exam.examNumber))?.reports, []);

  busy = false;
  const retried = await hub.request<DiagnosticReport>('POST', '/DiagnosticReport', { body: report });
  t.is(retried.status, 201);
  t.is(retried.body.id, `${exam.examNumber}-R1`);
});
