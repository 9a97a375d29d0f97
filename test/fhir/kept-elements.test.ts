// What a FHIR client writes comes back when it reads: Patient telecom, address, identifier.type and name.use,
// ServiceRequest category and coding display. What the hub does not keep, the CapabilityStatement lists.
import type { CapabilityStatement, Patient, ServiceRequest } from '@medplum/fhirtypes';
import test from 'ava';
import { fixture, startFhirServer } from './server.ts';

test('a Patient keeps its telecom, address, identifier type and name use, and reads back unchanged after a PUT', async (t) => {
  const fhir = await startFhirServer(t);
  const jane = await fixture<Patient>('patient-jane-doe.json');
  jane.identifier![0]!.type = {
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical record number' }],
  };
  jane.telecom = [
    { system: 'phone', value: '+1 217 555 0101', use: 'mobile' },
    { system: 'email', value: 'jane@example.org' },
  ];
  jane.address = [
    {
      use: 'home',
      line: ['12 Oak St', 'Apt 3'],
      city: 'Springfield',
      state: 'IL',
      postalCode: '62701',
      country: 'USA',
    },
  ];
  const created = await fhir.request('POST', '/Patient', { body: jane });
  t.is(created.status, 201, JSON.stringify(created.body));
  const read = await fhir.request<Patient>('GET', `/Patient/${created.body.id}`);
  t.deepEqual(read.body.identifier?.[0]?.type, jane.identifier?.[0]?.type);
  t.is(read.body.name?.[0]?.use, 'official');
  t.deepEqual(read.body.telecom, jane.telecom);
  t.deepEqual(read.body.address, jane.address);

  const put = await fhir.request<Patient>('PUT', `/Patient/${created.body.id}`, { body: read.body });
  t.is(put.status, 200, JSON.stringify(put.body));
  const { meta: before, ...unchanged } = read.body;
  const { meta: after, ...again } = put.body;
  t.deepEqual(again, unchanged);
});

test('a ServiceRequest keeps its category and the display of its code', async (t) => {
  const fhir = await startFhirServer(t);
  const jane = await fhir.request('POST', '/Patient', { body: await fixture('patient-jane-doe.json') });
  const order = await fixture<ServiceRequest>('service-request-ct-head.json');
  order.subject.reference = `Patient/${jane.body.id}`;
  order.category = [{ coding: [{ system: 'http://snomed.info/sct', code: '363679005', display: 'Imaging' }] }];
  const created = await fhir.request('POST', '/ServiceRequest', { body: order });
  t.is(created.status, 201, JSON.stringify(created.body));
  const read = await fhir.request<ServiceRequest>('GET', `/ServiceRequest/${created.body.id}`);
  t.deepEqual(read.body.category, order.category);
  t.deepEqual(read.body.code, order.code, 'the coding keeps its display beside the text');
  const put = await fhir.request('PUT', `/ServiceRequest/${created.body.id}`, { body: read.body });
  t.is(put.status, 200, JSON.stringify(put.body));
});

test('the CapabilityStatement lists the Patient and ServiceRequest elements the hub does not keep', async (t) => {
  const fhir = await startFhirServer(t);
  const metadata = await fhir.request<CapabilityStatement>('GET', '/metadata', { token: null });
  const documentation = (type: string): string =>
    metadata.body.rest?.[0]?.resource?.find((r) => r.type === type)?.documentation ?? '';
  t.regex(documentation('Patient'), /Not kept on write.*maritalStatus/);
  t.regex(documentation('Patient'), /urn:rso-hub:facility:<facility>:<authority\|namespace\|coding>:<code>/);
  t.regex(documentation('ServiceRequest'), /Not kept on write.*bodySite/);
});

test('ServiceRequest.authoredOn is when the request was authored, not when the hub received it', async (t) => {
  const fhir = await startFhirServer(t);
  const jane = await fhir.request('POST', '/Patient', { body: await fixture('patient-jane-doe.json') });
  const order = await fixture<ServiceRequest>('service-request-ct-head.json');
  order.subject.reference = `Patient/${jane.body.id}`;
  order.authoredOn = '2026-03-01T08:00:00Z';
  const created = await fhir.request('POST', '/ServiceRequest', { body: order });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is(
    Date.parse((await fhir.request<ServiceRequest>('GET', `/ServiceRequest/${created.body.id}`)).body.authoredOn ?? ''),
    Date.parse(order.authoredOn),
  );
});
