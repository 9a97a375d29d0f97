import test from 'ava';
import { ackCodesFor, ackRequestOf, buildAck, errorCodes } from '../../hl7/ack.ts';
import { decodeHl7 } from '../../hl7/charset.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { fixture } from './mllp-peer.ts';

async function request(name: string) {
  return ackRequestOf(Hl7Message.parse(decodeHl7(await fixture(name)).text));
}

test('an AA swaps sending and receiving application and facility and echoes the control id', async (t) => {
  const ack = buildAck(await request('orm-o01.hl7'), 'AA');
  t.is(ack.get('MSH-3'), 'RSO HUB');
  t.is(ack.get('MSH-4'), 'RSO');
  t.is(ack.get('MSH-5'), 'RIS');
  t.is(ack.get('MSH-6'), 'NORTH CLINIC');
  t.is(ack.getEncoded('MSH-9'), 'ACK^O01^ACK');
  t.is(ack.get('MSH-11'), 'P');
  t.is(ack.get('MSH-12'), '2.5.1');
  t.is(ack.get('MSA-1'), 'AA');
  t.is(ack.get('MSA-2'), 'MSG00001');
  t.is(ack.get('MSA-3'), undefined);
  t.is(ack.segmentsNamed('ERR').length, 0);
});

test('each ACK gets its own MSH-10', async (t) => {
  const req = await request('orm-o01.hl7');
  const ids = new Set(Array.from({ length: 1000 }, () => buildAck(req, 'AA').get('MSH-10')));
  t.is(ids.size, 1000);
  t.false(ids.has('MSG00001'));
  for (const id of ids) t.true(id!.length <= 20);
});

test('a v2.5+ error ACK carries MSA-3 and ERR-2/3/4/8 with a table 0357 code', async (t) => {
  const ack = buildAck(await request('orm-o01.hl7'), 'AE', {
    error: {
      condition: errorCodes.requiredFieldMissing,
      text: 'PID-3 is empty',
      location: { segment: 'PID', sequence: 1, field: 3 },
    },
  });
  t.is(ack.get('MSA-1'), 'AE');
  t.is(ack.get('MSA-3'), 'PID-3 is empty');
  t.is(ack.getEncoded('ERR-2'), 'PID^1^3');
  t.is(ack.getEncoded('ERR-3'), '101^Required field missing^HL70357');
  t.is(ack.get('ERR-4'), 'E');
  t.is(ack.get('ERR-8'), 'PID-3 is empty');
  t.falsy(ack.get('ERR-1'));
});

test('a pre-2.5 error ACK uses ERR-1', async (t) => {
  const ack = buildAck(await request('orm-o01-v23.hl7'), 'AR', {
    error: {
      condition: errorCodes.unsupportedMessageType,
      text: 'not here',
      location: { segment: 'MSH', sequence: 1, field: 9 },
    },
  });
  t.is(ack.getEncoded('ERR-1'), 'MSH^1^9^200&Unsupported message type&HL70357');
  t.is(ack.get('ERR-3'), undefined);
  t.is(ack.getEncoded('MSH-9'), 'ACK^O01');
});

test('original mode answers AA, AE or AR', async (t) => {
  const req = await request('orm-o01.hl7');
  const error = { condition: errorCodes.applicationInternalError, text: 'x' };
  t.deepEqual(ackCodesFor(req, { kind: 'accepted' }), ['AA']);
  t.deepEqual(ackCodesFor(req, { kind: 'error', stored: true, error }), ['AE']);
  t.deepEqual(ackCodesFor(req, { kind: 'rejected', error }), ['AR']);
});

test('enhanced mode honours MSH-15 and MSH-16 (table 0155)', async (t) => {
  const error = { condition: errorCodes.applicationInternalError, text: 'x' };
  const neAl = await request('orm-o01-enhanced-ne-al.hl7');
  t.deepEqual(ackCodesFor(neAl, { kind: 'accepted' }), ['AA']);
  t.deepEqual(ackCodesFor(neAl, { kind: 'error', stored: true, error }), ['AE']);
  t.deepEqual(ackCodesFor(neAl, { kind: 'rejected', error }), []);
  const alNe = await request('orm-o01-enhanced-al-ne.hl7');
  t.deepEqual(ackCodesFor(alNe, { kind: 'accepted' }), ['CA']);
  t.deepEqual(ackCodesFor(alNe, { kind: 'error', stored: false, error }), ['CE']);
  t.deepEqual(ackCodesFor(alNe, { kind: 'rejected', error }), ['CR']);
  const erSu = { ...alNe, acceptAck: 'ER', applicationAck: 'SU' };
  t.deepEqual(ackCodesFor(erSu, { kind: 'accepted' }), ['AA']);
  t.deepEqual(ackCodesFor(erSu, { kind: 'error', stored: true, error }), []);
  t.deepEqual(ackCodesFor(erSu, { kind: 'error', stored: false, error }), ['CE']);
});

test('a message the application refuses after storing it is AR or AE, and in enhanced mode committed first', async (t) => {
  const error = {
    condition: errorCodes.requiredFieldMissing,
    text: 'PID-3 is empty',
    location: { segment: 'PID', sequence: 1, field: 3 },
  };
  const original = await request('orm-o01.hl7');
  t.deepEqual(ackCodesFor(original, { kind: 'refused', rejected: true, error }), ['AR']);
  t.deepEqual(ackCodesFor(original, { kind: 'refused', rejected: false, error }), ['AE']);
  const neAl = await request('orm-o01-enhanced-ne-al.hl7');
  t.deepEqual(ackCodesFor(neAl, { kind: 'refused', rejected: true, error }), ['AR']);
  const alAl = { ...neAl, acceptAck: 'AL' };
  t.deepEqual(ackCodesFor(alAl, { kind: 'refused', rejected: false, error }), ['CA', 'AE']);
  const alNe = await request('orm-o01-enhanced-al-ne.hl7');
  t.deepEqual(
    ackCodesFor(alNe, { kind: 'refused', rejected: true, error }),
    ['CA'],
    'the sender asked for no application ACK',
  );
});
