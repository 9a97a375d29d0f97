import type { Bundle, OperationOutcome, ServiceRequest } from '@medplum/fhirtypes';
import test from 'ava';
import { fixture, issueExpression, startFhirServer } from './server.ts';

/** The fixture bundle's second entry, the order. */
function orderOf(bundle: Bundle): ServiceRequest {
  return bundle.entry?.[1]?.resource as ServiceRequest;
}

test('a transaction creates a patient and an order that appears on the facility active list', async (t) => {
  const fhir = await startFhirServer(t);
  const response = await fhir.request<Bundle>('POST', '/', {
    body: await fixture('transaction-new-patient-and-order.json'),
  });
  t.is(response.status, 200, JSON.stringify(response.body));
  t.is(response.body.type, 'transaction-response');
  const [patientEntry, orderEntry] = response.body.entry ?? [];
  t.is(patientEntry?.response?.status, '201 Created');
  t.is(orderEntry?.response?.status, '201 Created');
  t.is(
    (orderEntry?.resource as ServiceRequest | undefined)?.subject.reference,
    `Patient/${patientEntry?.resource?.id}`,
    'the urn:uuid became the stored id',
  );
  const active = await fhir.exams.lists.facilityActive('VALLEYGEN');
  t.deepEqual(
    active.map((e) => e.examNumber),
    [orderEntry?.resource?.id],
  );
  t.is(active[0]?.priority, 'stat');

  // The same bundle again: the patient is matched by If-None-Exist, the order's placer number is taken.
  const again = await fhir.request('POST', '/', { body: await fixture('transaction-new-patient-and-order.json') });
  t.is(again.status, 409);
  t.is(again.body.resourceType, 'OperationOutcome');
  t.is((await fhir.exams.findPatients({})).total, 1);
  t.is((await fhir.exams.findExams({})).total, 1);
});

test('one bad entry fails the whole transaction and nothing is stored', async (t) => {
  const fhir = await startFhirServer(t);
  const bundle = await fixture<Bundle>('transaction-new-patient-and-order.json');
  orderOf(bundle).code = { text: 'no code' };
  const missingCode = await fhir.request<OperationOutcome>('POST', '/', { body: bundle });
  t.is(missingCode.status, 422);
  t.deepEqual(issueExpression(missingCode.body), ['Bundle.entry[1].resource.code']);

  const invalid = await fixture<Bundle>('transaction-new-patient-and-order.json');
  Object.assign(orderOf(invalid), { priority: 42 });
  const structural = await fhir.request<OperationOutcome>('POST', '/', { body: invalid });
  t.is(structural.status, 400);
  t.regex(issueExpression(structural.body)?.[0] ?? '', /^Bundle\.entry\[1\]\.resource\.priority/);

  const dangling = await fixture<Bundle>('transaction-new-patient-and-order.json');
  orderOf(dangling).subject.reference = 'urn:uuid:00000000-0000-0000-0000-000000000000';
  t.is((await fhir.request('POST', '/', { body: dangling })).status, 400);

  t.is((await fhir.exams.findPatients({})).total, 0);
  t.is((await fhir.exams.findExams({})).total, 0);
});
