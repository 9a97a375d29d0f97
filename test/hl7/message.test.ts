import test from 'ava';
import { decodeHl7 } from '../../hl7/charset.ts';
import { Hl7Message, Hl7ParseError } from '../../hl7/message.ts';
import { fixture } from './mllp-peer.ts';

async function orm(): Promise<Hl7Message> {
  return Hl7Message.parse(decodeHl7(await fixture('orm-o01.hl7')).text);
}

test('paths read fields, repetitions, components and subcomponents of an ORM', async (t) => {
  const m = await orm();
  t.is(m.get('MSH-9.1'), 'ORM');
  t.is(m.get('MSH-9.2'), 'O01');
  t.is(m.getEncoded('MSH-9'), 'ORM^O01^ORM_O01');
  t.is(m.get('MSH-10'), 'MSG00001');
  t.is(m.get('MSH-1'), '|');
  t.is(m.get('MSH-2'), '^~\\&');
  t.is(m.get('PID-3'), 'MRN12345', 'a path above a primitive means its first component');
  t.is(m.get('PID-3.1'), 'MRN12345');
  t.is(m.get('PID-3[2].1'), 'SSN999');
  t.is(m.get('PID-3[2].4'), 'USSSA');
  t.deepEqual(m.getAll('PID-3.1'), ['MRN12345', 'SSN999']);
  t.is(m.get('PID.5.2'), 'JOHN', 'a dot may stand for the dash');
  t.is(m.get('OBR-4.2'), 'CHEST XRAY 2 VIEWS');
  t.is(m.get('OBR-18'), 'ACC778899');
  t.is(m.get('OBX-5'), undefined);
  t.is(m.get('PID-99'), undefined);
});

test('escape sequences are decoded on read', async (t) => {
  const m = await orm();
  t.is(m.get('NTE-3'), 'Patient reports pain | swelling\nsince Monday; ask for R&L views \\ notes');
});

test('set escapes delimiters and builds missing segments, repetitions and components', async (t) => {
  const m = await orm();
  m.set('PID-5.1', 'O^Brien & Sons|~');
  t.is(m.getEncoded('PID-5'), 'O\\S\\Brien \\T\\ Sons\\F\\\\R\\^JOHN^Q');
  t.is(m.get('PID-5.1'), 'O^Brien & Sons|~');
  m.set('ZDS[2]-3[2].2.3', 'deep');
  t.is(m.segmentsNamed('ZDS').length, 2);
  t.is(m.getEncoded('ZDS[2]-3'), '~^&&deep');
  t.is(m.get('ZDS[2]-3[2].2.3'), 'deep');
  m.setEncoded('PV1-3', 'CT^^^SOUTH');
  t.is(m.get('PV1-3.4'), 'SOUTH');
  const again = Hl7Message.parse(m.toString());
  t.is(again.get('PID-5.1'), 'O^Brien & Sons|~');
  t.is(again.get('ZDS[2]-3[2].2.3'), 'deep');
});

test('an untouched message serialises byte for byte', async (t) => {
  const text = decodeHl7(await fixture('orm-o01.hl7')).text;
  t.is(Hl7Message.parse(text).toString(), text);
});

test('toJSON and fromJSON round-trip, and fromJSON names what is wrong', async (t) => {
  const m = await orm();
  const json = JSON.parse(JSON.stringify(m.toJSON())) as { segments: string[][] };
  t.is(json.segments[0]![10], 'MSG00001');
  json.segments[1]![8] = 'F';
  const back = Hl7Message.fromJSON(json);
  t.is(back.get('PID-8'), 'F');
  t.is(back.get('NTE-3'), m.get('NTE-3'));
  t.throws(() => Hl7Message.fromJSON({ segments: [['PID', '1']] }), {
    message: /segments\[0\]: expected the MSH segment first/,
  });
  t.throws(() => Hl7Message.fromJSON({ segments: [json.segments[0], ['PID', 'a|b']] }), {
    message: /segments\[1\]\[1\]: holds a field separator/,
  });
  t.throws(() => Hl7Message.fromJSON([]), { message: /segments: expected a list/ });
});

test('a bad path or a message without MSH is refused with the reason', (t) => {
  t.throws(() => Hl7Message.parse('PID|1||X\r'), { instanceOf: Hl7ParseError, message: /does not start with an MSH/ });
  t.throws(() => Hl7Message.parse('MSH|^~|A\r'), { message: /MSH-2/ });
  const m = Hl7Message.create();
  t.throws(() => m.get('PID3'), { message: /PID3: not an HL7 path/ });
  t.throws(() => m.set('MSH-2', 'x'), { message: /MSH-1 and MSH-2/ });
});

test('custom delimiters from MSH-1/MSH-2 are honoured', (t) => {
  const m = Hl7Message.parse('MSH#@*$%#A#B\rPID#1##X@Y*Z@@%U%\r');
  t.is(m.get('PID-3.2'), 'Y');
  t.is(m.get('PID-3[2].3.2'), 'U');
  m.set('PID-4', 'a#b');
  t.is(m.getEncoded('PID-4'), 'a$F$b');
});
