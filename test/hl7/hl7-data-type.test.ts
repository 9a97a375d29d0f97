import test from 'ava';
import { decodeHl7 } from '../../hl7/charset.ts';
import { hl7v2DataType } from '../../hl7/hl7-data-type.ts';
import { fixture } from './mllp-peer.ts';

test('index extracts message type, control id, patient id, accession, order number and sending facility', async (t) => {
  const document = hl7v2DataType.parse(decodeHl7(await fixture('orm-o01.hl7')).text);
  t.deepEqual(hl7v2DataType.index(document), {
    messageType: 'ORM^O01',
    controlId: 'MSG00001',
    patientId: 'MRN12345',
    accession: 'ACC778899',
    orderNumber: 'PLC1001',
    sendingFacility: 'NORTH CLINIC',
  });
});

test('without OBR-18 the filler order number is the accession', async (t) => {
  const document = hl7v2DataType.parse(decodeHl7(await fixture('orm-o01-v23.hl7')).text);
  t.like(hl7v2DataType.index(document), { accession: 'FIL23', orderNumber: 'PLC23', messageType: 'ORM^O01' });
});

test('a document survives the JSON view of the JavaScript step', async (t) => {
  const document = hl7v2DataType.parse(decodeHl7(await fixture('orm-o01-utf8.hl7')).text);
  const json = JSON.parse(JSON.stringify(document.toJSON())) as { segments: string[][] };
  json.segments.push(['ZRS', '1', 'Zoë\\F\\']);
  const back = hl7v2DataType.fromJSON(json);
  t.is(back.get('PID-5.2'), 'Zoë');
  t.is(back.get('ZRS-2'), 'Zoë|');
  back.set('PID-5.2', 'Anaïs');
  t.is(hl7v2DataType.parse(back.toString()).get('PID-5.2'), 'Anaïs');
  t.deepEqual(back.getAll('OBR-2'), ['PLC-U1']);
});
