import type { Bundle, CapabilityStatement, OperationOutcome, Patient, ServiceRequest } from '@medplum/fhirtypes';
import test from 'ava';
import {
  entryIds,
  fixture,
  issueExpression,
  issueText,
  linkUrl,
  startFhirServer,
  tokens,
  type FhirServer,
} from './server.ts';

async function createJane(fhir: FhirServer): Promise<Patient & { id: string }> {
  const created = await fhir.request<Patient>('POST', '/Patient', { body: await fixture('patient-jane-doe.json') });
  const { id } = created.body;
  if (created.status !== 201 || id === undefined) throw new Error(JSON.stringify(created.body));
  return { ...created.body, id };
}

async function orderFor(patientId: string, placer = 'ORD-555001'): Promise<ServiceRequest> {
  const resource = await fixture<ServiceRequest>('service-request-ct-head.json');
  resource.subject.reference = `Patient/${patientId}`;
  resource.identifier![0]!.value = placer;
  return resource;
}

test('CapabilityStatement is open; everything else needs a token and says so in an OperationOutcome', async (t) => {
  const fhir = await startFhirServer(t);
  const metadata = await fhir.request<CapabilityStatement>('GET', '/metadata', { token: null });
  t.is(metadata.status, 200);
  t.is(metadata.body.resourceType, 'CapabilityStatement');
  t.regex(metadata.headers.get('content-type') ?? '', /^application\/fhir\+json/);
  const anonymous = await fhir.request<OperationOutcome>('GET', '/Patient', { token: null });
  t.is(anonymous.status, 401);
  t.is(anonymous.body.resourceType, 'OperationOutcome');
  t.regex(issueText(anonymous.body), /bearer token is required/);
  t.truthy(anonymous.headers.get('www-authenticate'));
  t.is((await fhir.request('GET', '/Patient', { token: 'wrong' })).status, 401);
  const readOnly = await fhir.request('POST', '/Patient', {
    token: tokens.reader,
    body: await fixture('patient-jane-doe.json'),
  });
  t.is(readOnly.status, 403);
  t.is(readOnly.body.resourceType, 'OperationOutcome');
});

test('create, read and update a ServiceRequest: it is the exam, versioned with ETags', async (t) => {
  const fhir = await startFhirServer(t);
  const jane = await createJane(fhir);
  t.is(jane.meta?.versionId, '1');
  const created = await fhir.request<ServiceRequest>('POST', '/ServiceRequest', { body: await orderFor(jane.id) });
  t.is(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id ?? '';
  t.regex(id, /^RSO-\d{4}-\d{6}$/);
  t.is(created.headers.get('etag'), 'W/"1"');
  t.is(created.headers.get('location'), `${fhir.base}/ServiceRequest/${id}/_history/1`);
  const exam = await fhir.exams.require(id);
  t.is(exam.status, 'requested');
  t.is(exam.patientId, jane.id);
  t.is(exam.modality, 'CT');
  t.is(exam.priority, 'urgent');
  t.deepEqual(exam.history[0]?.by, { actor: 'valley-ehr', via: 'fhir' });

  const read = await fhir.request<ServiceRequest>('GET', `/ServiceRequest/${id}`);
  t.is(read.status, 200);
  t.is(read.body.status, 'active');
  t.is(read.body.requester?.display, 'Valley General');
  t.deepEqual(read.body.identifier?.[0], { system: 'urn:rso-hub:exam-number', value: id });

  // An exam moved on by another protocol shows in the same resource.
  await fhir.exams.attachStudy(id, { studyInstanceUid: '1.2.840.99.1' }, { actor: 'dicom-scp', via: 'dicom' });
  const moved = await fhir.request<ServiceRequest>('GET', `/ServiceRequest/${id}`);
  t.is(moved.body.meta?.versionId, '2');
  t.is(moved.body.extension?.[0]?.valueCode, 'images-received');

  const stale = await fhir.request('PUT', `/ServiceRequest/${id}`, {
    body: { ...read.body, priority: 'stat' },
    headers: { 'if-match': 'W/"1"' },
  });
  t.is(stale.status, 412);
  t.is(stale.body.resourceType, 'OperationOutcome');
  t.is((await fhir.exams.require(id)).priority, 'urgent', 'a refused update stores nothing');

  const { extension, ...withoutExtension } = moved.body;
  const updated = await fhir.request<ServiceRequest>('PUT', `/ServiceRequest/${id}`, {
    body: { ...withoutExtension, priority: 'stat' },
    headers: { 'if-match': 'W/"2"' },
  });
  t.is(updated.status, 200, JSON.stringify(updated.body));
  t.is(updated.body.priority, 'stat');
  t.is(updated.headers.get('etag'), 'W/"3"');
  t.is((await fhir.request('GET', `/ServiceRequest/${id}/_history/3`)).status, 200);
  t.is((await fhir.request('GET', `/ServiceRequest/${id}/_history/1`)).status, 404);

  const revoked = await fhir.request<ServiceRequest>('PUT', `/ServiceRequest/${id}`, {
    body: { ...updated.body, extension: undefined, status: 'revoked' },
  });
  t.is(revoked.status, 200, JSON.stringify(revoked.body));
  t.is((await fhir.exams.require(id)).status, 'cancelled');
  const refused = await fhir.request<OperationOutcome>('PUT', `/ServiceRequest/${id}`, {
    body: {
      ...revoked.body,
      extension: [{ url: 'urn:rso-hub:fhir:StructureDefinition:exam-status', valueCode: 'final' }],
    },
  });
  t.is(refused.status, 409);
  t.regex(issueText(refused.body), /cancelled -> final is not allowed/);
  t.deepEqual(issueExpression(refused.body), ['ServiceRequest.status']);
  t.is((await fhir.request('GET', '/ServiceRequest/RSO-1999-000001')).status, 404);
});

test('an invalid resource is refused with 400 naming the element, and nothing is stored', async (t) => {
  const fhir = await startFhirServer(t);
  const invalid = await fhir.request<OperationOutcome>('POST', '/Patient', {
    body: await fixture('patient-invalid-birthdate.json'),
  });
  t.is(invalid.status, 400);
  t.is(invalid.body.resourceType, 'OperationOutcome');
  t.deepEqual(issueExpression(invalid.body), ['Patient.birthDate']);
  const order = await orderFor('nobody');
  delete (order as Partial<ServiceRequest>).intent;
  const noIntent = await fhir.request<OperationOutcome>('POST', '/ServiceRequest', { body: order });
  t.is(noIntent.status, 400);
  t.deepEqual(issueExpression(noIntent.body), ['ServiceRequest.intent']);
  const notJson = await fhir.request('POST', '/Patient', { body: '{"resourceType": "Patient",' });
  t.is(notJson.status, 400);
  t.is(notJson.body.resourceType, 'OperationOutcome');
  const unknownFacility = await orderFor((await createJane(fhir)).id);
  unknownFacility.requester!.identifier!.value = 'NOWHERE';
  const refused = await fhir.request<OperationOutcome>('POST', '/ServiceRequest', { body: unknownFacility });
  t.is(refused.status, 422);
  t.deepEqual(issueExpression(refused.body), ['ServiceRequest.requester']);
  t.is((await fhir.exams.findPatients({})).total, 1, 'only Jane');
  t.is((await fhir.exams.findExams({})).total, 0);
});

test('conditional create finds the existing patient instead of making a second one', async (t) => {
  const fhir = await startFhirServer(t);
  const jane = await createJane(fhir);
  const headers = { 'if-none-exist': 'identifier=urn:oid:2.16.840.1.113883.3.9999.1|VG-000123' };
  const again = await fhir.request('POST', '/Patient', { body: await fixture('patient-jane-doe.json'), headers });
  t.is(again.status, 200);
  t.is(again.body.id, jane.id);
  const plain = await fhir.request('POST', '/Patient', { body: await fixture('patient-jane-doe.json') });
  t.is(plain.status, 409, 'a plain create of a known identifier is a conflict');
  t.is((await fhir.exams.findPatients({})).total, 1);
  const order = await orderFor(jane.id);
  const first = await fhir.request('POST', '/ServiceRequest', {
    body: order,
    headers: { 'if-none-exist': 'identifier=urn:oid:2.16.840.1.113883.3.9999.2|ORD-555001' },
  });
  const second = await fhir.request('POST', '/ServiceRequest', {
    body: order,
    headers: { 'if-none-exist': 'identifier=urn:oid:2.16.840.1.113883.3.9999.2|ORD-555001' },
  });
  t.is(first.status, 201);
  t.is(second.status, 200);
  t.is(second.body.id, first.body.id);
  t.is((await fhir.exams.findExams({})).total, 1);
});

test('search: identifier, patient, status, authored, _lastUpdated, _sort and paging links with total', async (t) => {
  const fhir = await startFhirServer(t);
  const jane = await createJane(fhir);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const created = await fhir.request('POST', '/ServiceRequest', { body: await orderFor(jane.id, `ORD-S${i}`) });
    ids.push(created.body.id ?? '');
  }
  await fhir.exams.cancel(ids[4]!, { actor: 'test', via: 'test' });

  const byIdentifier = await fhir.request<Bundle>(
    'GET',
    '/ServiceRequest?identifier=urn:oid:2.16.840.1.113883.3.9999.2|ORD-S2',
  );
  t.is(byIdentifier.body.type, 'searchset');
  t.is(byIdentifier.body.total, 1);
  t.is(byIdentifier.body.entry?.[0]?.resource?.id, ids[2]);
  t.is(byIdentifier.body.entry?.[0]?.fullUrl, `${fhir.base}/ServiceRequest/${ids[2]}`);

  const active = await fhir.request<Bundle>(
    'GET',
    `/ServiceRequest?patient=Patient/${jane.id}&status=active&_sort=authored&_count=2`,
  );
  t.is(active.body.total, 4);
  t.deepEqual(entryIds(active.body), ids.slice(0, 2));
  const next = linkUrl(active.body, 'next');
  t.truthy(next);
  const page2 = await fhir.request<Bundle>('GET', (next ?? '').slice(fhir.base.length));
  t.deepEqual(entryIds(page2.body), ids.slice(2, 4));
  t.falsy(linkUrl(page2.body, 'next'));
  t.truthy(linkUrl(page2.body, 'previous'));

  const revoked = await fhir.request<Bundle>('GET', `/ServiceRequest?subject=${jane.id}&status=revoked`);
  t.deepEqual(entryIds(revoked.body), [ids[4]]);
  const year = new Date().getUTCFullYear();
  t.is(
    (await fhir.request<Bundle>('GET', `/ServiceRequest?authored=ge${year}-01-01&authored=lt${year + 1}-01-01`)).body
      .total,
    5,
  );
  t.is((await fhir.request<Bundle>('GET', `/ServiceRequest?authored=lt${year}`)).body.total, 0);
  t.is(
    entryIds(
      (await fhir.request<Bundle>('GET', '/ServiceRequest?_lastUpdated=gt2000-01-01&_sort=-_lastUpdated&_count=1'))
        .body,
    )[0],
    ids[4],
  );
  const bad = await fhir.request('GET', '/ServiceRequest?authored=yesterday');
  t.is(bad.status, 400);
  t.is(bad.body.resourceType, 'OperationOutcome');
  const patients = await fhir.request<Bundle<Patient>>('GET', '/Patient?identifier=VG-000123');
  t.is(patients.body.total, 1);
  t.is(patients.body.entry?.[0]?.resource?.name?.[0]?.family, 'Doe');

  // A token limited to another facility sees none of Valley General's exams or patients.
  t.is((await fhir.request<Bundle>('GET', '/ServiceRequest', { token: tokens.otherFacility })).body.total, 0);
  t.is((await fhir.request('GET', `/ServiceRequest/${ids[0]}`, { token: tokens.otherFacility })).status, 404);
  t.is((await fhir.request('GET', `/Patient/${jane.id}`, { token: tokens.otherFacility })).status, 404);

  // Naming Valley General's patient as the subject of an order does not reach her either: the answer is the one
  // for a patient that does not exist, by id or by identifier, and nothing is stored.
  const order = {
    ...(await fixture('service-request-ct-head.json')),
    requester: { identifier: { system: 'urn:rso-hub:facility', value: 'OTHER' } },
  };
  for (const subject of [
    { reference: `Patient/${jane.id}` },
    { identifier: { system: 'VALLEYGEN', value: 'VG-000123' } },
  ]) {
    const refused = await fhir.request<OperationOutcome>('POST', '/ServiceRequest', {
      token: tokens.otherFacility,
      body: { ...order, subject },
    });
    t.is(refused.status, 422);
    t.regex(JSON.stringify(refused.body.issue), /does not exist|no patient has the identifier/);
  }
  t.is((await fhir.request('GET', `/Patient/${jane.id}`, { token: tokens.otherFacility })).status, 404);
  t.is((await fhir.exams.findExams({ facilities: ['OTHER'], limit: 0 })).total, 0);
});

test('a Patient update needs the current version and replaces the demographics', async (t) => {
  const fhir = await startFhirServer(t);
  const jane = await createJane(fhir);
  const changed = { ...jane, name: [{ family: 'Doe-Smith', given: ['Jane'] }] };
  t.is(
    (await fhir.request('PUT', `/Patient/${jane.id}`, { body: changed, headers: { 'if-match': 'W/"7"' } })).status,
    412,
  );
  const updated = await fhir.request('PUT', `/Patient/${jane.id}`, { body: changed, headers: { 'if-match': 'W/"1"' } });
  t.is(updated.status, 200);
  t.is(updated.body.meta?.versionId, '2');
  t.is((await fhir.exams.patients.require(jane.id)).name.family, 'Doe-Smith');
  const wrongId = await fhir.request('PUT', `/Patient/${jane.id}`, { body: { ...changed, id: 'other' } });
  t.is(wrongId.status, 400);
});

test('an exam ordered over HL7 reads as a ServiceRequest with its placer number and patient', async (t) => {
  const fhir = await startFhirServer(t);
  const exam = await fhir.exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: {
        identifiers: [{ system: 'VALLEYGEN', value: 'MRN-4711', facility: 'VALLEYGEN' }],
        name: { family: 'Smith', given: ['Ann'] },
        sex: 'female',
      },
      identifiers: [
        { kind: 'placer', value: 'ORM-4711', system: 'VALLEY_RIS' },
        { kind: 'accession', value: 'ACC-4711' },
      ],
      procedure: { code: 'MRKNEE', text: 'MR knee left' },
      modality: 'MR',
      priority: 'stat',
    },
    { actor: 'channel:valley-orders', via: 'hl7', messageId: 'MSG-1' },
  );
  const read = await fhir.request<ServiceRequest>('GET', `/ServiceRequest/${exam.examNumber}`);
  t.is(read.status, 200);
  t.deepEqual(read.body.identifier?.slice(1), [
    {
      system: 'VALLEY_RIS',
      value: 'ORM-4711',
      type: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC', display: 'Placer Identifier' },
        ],
      },
    },
    {
      value: 'ACC-4711',
      type: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN', display: 'Accession ID' }],
      },
    },
  ]);
  t.is(read.body.priority, 'stat');
  t.deepEqual(read.body.orderDetail?.[0]?.coding?.[0], {
    system: 'http://dicom.nema.org/resources/ontology/DCM',
    code: 'MR',
  });
  const patient = await fhir.request<Patient>('GET', `/${read.body.subject.reference}`);
  t.is(patient.body.name?.[0]?.family, 'Smith');
  t.deepEqual(patient.body.identifier?.[0]?.assigner, {
    identifier: { system: 'urn:rso-hub:facility', value: 'VALLEYGEN' },
  });
  const found = await fhir.request<Bundle>('GET', '/ServiceRequest?identifier=ACC-4711');
  t.is(entryIds(found.body)[0], exam.examNumber);
});

test('a second order with a placer number the facility already used is refused with 409 naming the exam; nothing is stored', async (t) => {
  const fhir = await startFhirServer(t);
  const jane = await createJane(fhir);
  const first = await fhir.request('POST', '/ServiceRequest', { body: await orderFor(jane.id, 'ORD-DUP-1') });
  t.is(first.status, 201);
  const again = await fhir.request<OperationOutcome>('POST', '/ServiceRequest', {
    body: await orderFor(jane.id, 'ORD-DUP-1'),
  });
  t.is(again.status, 409);
  t.is(again.body.resourceType, 'OperationOutcome');
  t.regex(issueText(again.body), new RegExp(first.body.id ?? '(no id)'));
  t.is((await fhir.exams.findExams({})).total, 1);
  const events = await fhir.exams.outbox.publishPending().then(() => fhir.exams.outbox.subscription('check').pull(100));
  t.is(events.filter((e) => e.type === 'exam.created').length, 1, 'no event for the refused order');
});
