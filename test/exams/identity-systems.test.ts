// The facility's identity systems: checked like the rest of its config (path and reason), mapped codes give
// their URI, unmapped ones the documented urn:rso-hub fallback.
import test from 'ava';
import { parseFacility } from '../../exams/facility.ts';
import { authoritySystem, codingSystem, fallbackSystem, namespaceSystem } from '../../exams/identity-systems.ts';
import { ValidationError } from '../../runtime/validate.ts';

const base = { code: 'VALLEYGEN', name: 'Valley General' };

test('a facility maps its authorities, namespaces and coding systems to URIs', (t) => {
  const facility = parseFacility({
    ...base,
    identitySystems: {
      authorities: { 'TEC MRN': 'urn:oid:1.2.3.4', VALLEYGEN: 'http://valley.example/mrn' },
      namespaces: { VALLEY_RIS: 'urn:oid:1.2.3.5' },
      codingSystems: { VGCM: 'http://valley.example/chargemaster' },
    },
  });
  t.is(authoritySystem(facility, 'TEC MRN'), 'urn:oid:1.2.3.4');
  t.is(authoritySystem(facility, undefined), 'http://valley.example/mrn', "no CX-4 / Issuer is the facility's own MRN");
  t.is(authoritySystem(facility, 'EMPI'), 'urn:rso-hub:facility:VALLEYGEN:authority:EMPI');
  t.is(namespaceSystem(facility, 'VALLEY_RIS'), 'urn:oid:1.2.3.5');
  t.is(namespaceSystem(facility, ''), undefined);
  t.is(codingSystem(facility, 'VGCM'), 'http://valley.example/chargemaster');
  t.is(codingSystem(facility, 'LN'), 'http://loinc.org', 'HL7 table 0396 names with a published URI');
  t.is(codingSystem(facility, '2.16.840.1.113883.6.1'), 'urn:oid:2.16.840.1.113883.6.1');
  t.is(
    authoritySystem(facility, 'TEC:MRN'),
    'urn:rso-hub:facility:VALLEYGEN:authority:TEC%3AMRN',
    'a colon does not make a code a URI',
  );
  t.is(fallbackSystem('VALLEYGEN', 'authorities', 'A/B #1'), 'urn:rso-hub:facility:VALLEYGEN:authority:A%2FB%20%231');
});

test('a bad identity system is refused with its path and reason', (t) => {
  const error = t.throws(() => parseFacility({ ...base, identitySystems: { authorities: { 'TEC MRN': 'TEC MRN' } } }), {
    instanceOf: ValidationError,
  });
  t.is(error?.path, 'identitySystems.authorities.TEC MRN');
  t.regex(error?.reason ?? '', /absolute URI/);
  t.throws(() => parseFacility({ ...base, identitySystems: { authority: {} } }), { message: /identitySystems/ });
  t.throws(() => parseFacility({ ...base, identitySystems: { namespaces: { X: 42 } } }), {
    instanceOf: ValidationError,
    message: /namespaces\.X/,
  });
});
