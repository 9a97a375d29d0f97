// What the FHIR API refuses rather than guesses: a search parameter it does not support (it would match
// everything), a reference to a resource on another server (it would be read as the local one with that id),
// and a JSON key that reaches an object's prototype.
import type { Bundle, OperationOutcome, ServiceRequest } from '@medplum/fhirtypes';
import test from 'ava';
import { fixture, issueExpression, issueText, linkUrl, startFhirServer, type FhirServer } from './server.ts';

async function janeWithOrder(fhir: FhirServer): Promise<{ patientId: string; orderId: string }> {
  const patient = await fhir.request('POST', '/Patient', { body: await fixture('patient-jane-doe.json') });
  const order = await fixture<ServiceRequest>('service-request-ct-head.json');
  order.subject.reference = `Patient/${patient.body.id}`;
  const created = await fhir.request('POST', '/ServiceRequest', { body: order });
  const [patientId, orderId] = [patient.body.id, created.body.id];
  if (created.status !== 201 || patientId === undefined || orderId === undefined) {
    throw new Error(JSON.stringify(created.body));
  }
  return { patientId, orderId };
}

test('a search with an unsupported parameter is refused with 400 naming it', async (t) => {
  const fhir = await startFhirServer(t);
  await janeWithOrder(fhir);
  const refused = await fhir.request<OperationOutcome>(
    'GET',
    '/ServiceRequest?status=active&performer=Practitioner/1&code:text=head',
  );
  t.is(refused.status, 400);
  t.is(refused.body.resourceType, 'OperationOutcome');
  t.deepEqual(
    refused.body.issue?.map((issue) => issue.expression?.[0]),
    ['performer', 'code:text'],
  );
  t.regex(issueText(refused.body), /"performer" is not supported/);
  t.is((await fhir.request('GET', '/Patient?gender=female')).status, 400);
  t.is((await fhir.request('GET', '/Patient?_summary=count')).status, 400);
});

test('with Prefer: handling=lenient an unsupported parameter is left out, also from the self link', async (t) => {
  const fhir = await startFhirServer(t);
  await janeWithOrder(fhir);
  const lenient = await fhir.request<Bundle>('GET', '/ServiceRequest?status=active&performer=Practitioner/1', {
    headers: { prefer: 'handling=lenient' },
  });
  t.is(lenient.status, 200);
  t.is(lenient.body.total, 1);
  const self = linkUrl(lenient.body, 'self') ?? '';
  t.notRegex(self, /performer/);
  t.regex(self, /status=active/);
});

test('an absolute reference to another server is refused, not read as the local patient with that id', async (t) => {
  const fhir = await startFhirServer(t);
  const { patientId } = await janeWithOrder(fhir);
  const order = await fixture<ServiceRequest>('service-request-ct-head.json');
  order.subject.reference = `http://evil.example/fhir/Patient/${patientId}`;
  order.identifier![0]!.value = 'ORD-EVIL-1';
  const refused = await fhir.request<OperationOutcome>('POST', '/ServiceRequest', { body: order });
  t.is(refused.status, 422);
  t.is(refused.body.resourceType, 'OperationOutcome');
  t.deepEqual(issueExpression(refused.body), ['ServiceRequest.subject']);
  t.regex(issueText(refused.body), /evil\.example.*not a Patient of this server/);
  t.is((await fhir.exams.findExams({ patientIds: [patientId] })).total, 1, 'no second exam was made');

  // The same reference under the hub's own base is local.
  order.subject.reference = `${fhir.base}/Patient/${patientId}`;
  order.identifier![0]!.value = 'ORD-LOCAL-1';
  t.is((await fhir.request('POST', '/ServiceRequest', { body: order })).status, 201);

  const search = await fhir.request<OperationOutcome>(
    'GET',
    `/ServiceRequest?patient=http://evil.example/fhir/Patient/${patientId}`,
  );
  t.is(search.status, 400);
  t.deepEqual(issueExpression(search.body), ['patient']);
  t.is((await fhir.request<Bundle>('GET', `/ServiceRequest?patient=${fhir.base}/Patient/${patientId}`)).body.total, 2);
});

test('a resource with a __proto__ key is refused at the JSON reader with 400 naming it', async (t) => {
  const fhir = await startFhirServer(t);
  const text = JSON.stringify(await fixture('patient-jane-doe.json')).replace(
    /\}$/,
    ',"meta":{"tag":[{"__proto__":{"admin":true}}]}}',
  );
  const refused = await fhir.request<OperationOutcome>('POST', '/Patient', { body: text });
  t.is(refused.status, 400);
  t.is(refused.body.resourceType, 'OperationOutcome');
  t.deepEqual(issueExpression(refused.body), ['meta.tag[0].__proto__']);
  t.is((await fhir.exams.findPatients({})).total, 0);
});
