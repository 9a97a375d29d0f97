// What the FHIR API refuses rather than guesses: a search parameter it does not support (it would match
// everything), a reference to a resource on another server (it would be read as the local one with that id),
// and a JSON key that reaches an object's prototype.
import test from 'ava';
import { fixture, startFhirServer, type FhirServer } from './server.ts';

async function janeWithOrder(fhir: FhirServer): Promise<{ patientId: string; orderId: string }> {
  const patient = await fhir.request('POST', '/Patient', { body: await fixture('patient-jane-doe.json') });
  const order = await fixture('service-request-ct-head.json');
  order.subject.reference = `Patient/${patient.body.id}`;
  const created = await fhir.request('POST', '/ServiceRequest', { body: order });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  return { patientId: patient.body.id, orderId: created.body.id };
}

test('a search with an unsupported parameter is refused with 400 naming it', async (t) => {
  const fhir = await startFhirServer(t);
  await janeWithOrder(fhir);
  const refused = await fhir.request('GET', '/ServiceRequest?status=active&performer=Practitioner/1&code:text=head');
  t.is(refused.status, 400);
  t.is(refused.body.resourceType, 'OperationOutcome');
  t.deepEqual(
    refused.body.issue.map((i: { expression: string[] }) => i.expression[0]),
    ['performer', 'code:text'],
  );
  t.regex(refused.body.issue[0].details.text, /"performer" is not supported/);
  t.is((await fhir.request('GET', '/Patient?gender=female')).status, 400);
  t.is((await fhir.request('GET', '/Patient?_summary=count')).status, 400);
});

test('with Prefer: handling=lenient an unsupported parameter is left out, also from the self link', async (t) => {
  const fhir = await startFhirServer(t);
  await janeWithOrder(fhir);
  const lenient = await fhir.request('GET', '/ServiceRequest?status=active&performer=Practitioner/1', {
    headers: { prefer: 'handling=lenient' },
  });
  t.is(lenient.status, 200);
  t.is(lenient.body.total, 1);
  const self: string = lenient.body.link.find((l: { relation: string }) => l.relation === 'self').url;
  t.notRegex(self, /performer/);
  t.regex(self, /status=active/);
});

test('an absolute reference to another server is refused, not read as the local patient with that id', async (t) => {
  const fhir = await startFhirServer(t);
  const { patientId } = await janeWithOrder(fhir);
  const order = await fixture('service-request-ct-head.json');
  order.subject.reference = `http://evil.example/fhir/Patient/${patientId}`;
  order.identifier[0].value = 'ORD-EVIL-1';
  const refused = await fhir.request('POST', '/ServiceRequest', { body: order });
  t.is(refused.status, 422);
  t.is(refused.body.resourceType, 'OperationOutcome');
  t.deepEqual(refused.body.issue[0].expression, ['ServiceRequest.subject']);
  t.regex(refused.body.issue[0].details.text, /evil\.example.*not a Patient of this server/);
  t.is((await fhir.exams.findExams({ patientIds: [patientId] })).total, 1, 'no second exam was made');

  // The same reference under the hub's own base is local.
  order.subject.reference = `${fhir.base}/Patient/${patientId}`;
  order.identifier[0].value = 'ORD-LOCAL-1';
  t.is((await fhir.request('POST', '/ServiceRequest', { body: order })).status, 201);

  const search = await fhir.request('GET', `/ServiceRequest?patient=http://evil.example/fhir/Patient/${patientId}`);
  t.is(search.status, 400);
  t.deepEqual(search.body.issue[0].expression, ['patient']);
  t.is((await fhir.request('GET', `/ServiceRequest?patient=${fhir.base}/Patient/${patientId}`)).body.total, 2);
});

test('a resource with a __proto__ key is refused at the JSON reader with 400 naming it', async (t) => {
  const fhir = await startFhirServer(t);
  const text = JSON.stringify(await fixture('patient-jane-doe.json')).replace(
    /\}$/,
    ',"meta":{"tag":[{"__proto__":{"admin":true}}]}}',
  );
  const refused = await fhir.request('POST', '/Patient', { body: text });
  t.is(refused.status, 400);
  t.is(refused.body.resourceType, 'OperationOutcome');
  t.deepEqual(refused.body.issue[0].expression, ['meta.tag[0].__proto__']);
  t.is((await fhir.exams.findPatients({})).total, 0);
});
