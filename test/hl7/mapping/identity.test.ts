// HL7 codes become the URIs the facility configured (or the README's urn:rso-hub fallback), and what PID and
// ORC say about the patient and the order is kept: address (PID-11), telecom (PID-13/14), name type (XPN-7),
// identifier type (CX-5), the procedure's display and service section (OBR-4.2, OBR-24), ORC-9.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseFacility } from '../../../exams/facility.ts';
import { mapExamMessage } from '../../../hl7/exam-mapping.ts';
import { Hl7Message } from '../../../hl7/message.ts';
import { examDestination, mappingFixtures, openMappingHub, repoRoot, sendFixture } from './exam-hub.ts';

async function valley() {
  return parseFacility(
    JSON.parse(await readFile(path.join(repoRoot, 'config', 'facilities', 'valley-general.json'), 'utf8')),
  );
}

async function mapped() {
  const message = Hl7Message.parse(await readFile(path.join(mappingFixtures, 'identity', 'orm-tec-mrn.hl7'), 'utf8'));
  const result = mapExamMessage(message, { facility: await valley(), timeZone: 'UTC' });
  if (result.kind !== 'orders') throw new Error('expected orders');
  return result;
}

test('CX-4, EI-2 and CE-3 codes become the configured URIs, else the urn:rso-hub fallback, percent-encoded', async (t) => {
  const { patient, orders } = await mapped();
  t.deepEqual(
    patient.identifiers.map((id) => id.system),
    ['urn:oid:2.16.840.1.113883.3.9999.1', 'urn:rso-hub:facility:VALLEYGEN:authority:TEC%20MRN'],
  );
  t.deepEqual(patient.identifiers[1]?.type, { system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' });
  t.deepEqual(orders[0]?.identifiers[0], {
    kind: 'placer',
    value: 'TEC-PLC-1',
    system: 'urn:rso-hub:facility:VALLEYGEN:namespace:TEC%20ORDERS',
  });
  t.is(orders[0]?.procedure?.system, 'urn:rso-hub:facility:VALLEYGEN:coding:VG%20LOCAL');
});

test('PID-11 address, PID-13/14 telecom and the XPN-7 name type are kept on the patient', async (t) => {
  const { patient } = await mapped();
  t.is(patient.name?.use, 'official');
  t.deepEqual(patient.address, [
    {
      line: ['12 OAK ST', 'APT 3'],
      city: 'SPRINGFIELD',
      state: 'IL',
      postalCode: '62701',
      country: 'USA',
      use: 'home',
    },
  ]);
  t.deepEqual(patient.telecom, [
    { system: 'phone', value: '+1 (217) 5550101', use: 'home' },
    { system: 'email', value: 'terry@example.org' },
    { system: 'phone', value: '+1 (217) 5550199', use: 'work' },
  ]);
});

test('ORC-9 is when the order was placed; OBR-4.2 is the coding display and OBR-24 the category', async (t) => {
  const { orders } = await mapped();
  t.is(orders[0]?.authoredOn, '2024-06-11T15:30:00.000Z');
  t.like(orders[0]?.procedure, {
    code: 'CTABD',
    display: 'CT ABDOMEN',
    category: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'CT' }],
  });
});

test('an exam ordered over HL7 is authored at ORC-9', async (t) => {
  const { exams } = await openMappingHub(t);
  const result = await sendFixture(examDestination(exams, { timeZone: 'UTC' }), 'identity/orm-tec-mrn.hl7');
  t.is(result.status, 'sent');
  t.is((await exams.findByIdentifier('VALLEYGEN', 'placer', 'TEC-PLC-1'))?.authoredOn, '2024-06-11T15:30:00.000Z');
});
