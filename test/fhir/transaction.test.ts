import test from 'ava';
import { fixture, startFhirServer } from './server.ts';

test('a transaction creates a patient and an order that appears on the facility active list', async (t) => {
  const fhir = await startFhirServer(t);
  const response = await fhir.request('POST', '/', { body: await fixture('transaction-new-patient-and-order.json') });
  t.is(response.status, 200, JSON.stringify(response.body));
  t.is(response.body.type, 'transaction-response');
  const [patientEntry, orderEntry] = response.body.entry;
  t.is(patientEntry.response.status, '201 Created');
  t.is(orderEntry.response.status, '201 Created');
  t.is(
    orderEntry.resource.subject.reference,
    `Patient/${patientEntry.resource.id}`,
    'the urn:uuid became the stored id',
  );
  const active = await fhir.exams.lists.facilityActive('VALLEYGEN');
  t.deepEqual(
    active.map((e) => e.examNumber),
    [orderEntry.resource.id],
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
  const bundle = await fixture('transaction-new-patient-and-order.json');
  bundle.entry[1].resource.code = { text: 'no code' };
  const missingCode = await fhir.request('POST', '/', { body: bundle });
  t.is(missingCode.status, 422);
  t.deepEqual(missingCode.body.issue[0].expression, ['Bundle.entry[1].resource.code']);

  const invalid = await fixture('transaction-new-patient-and-order.json');
  invalid.entry[1].resource.priority = 42;
  const structural = await fhir.request('POST', '/', { body: invalid });
  t.is(structural.status, 400);
  t.regex(structural.body.issue[0].expression[0], /^Bundle\.entry\[1\]\.resource\.priority/);

  const dangling = await fixture('transaction-new-patient-and-order.json');
  dangling.entry[1].resource.subject.reference = 'urn:uuid:00000000-0000-0000-0000-000000000000';
  t.is((await fhir.request('POST', '/', { body: dangling })).status, 400);

  t.is((await fhir.exams.findPatients({})).total, 0);
  t.is((await fhir.exams.findExams({})).total, 0);
});
