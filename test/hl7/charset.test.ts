import test from 'ava';
import { decodeHl7, encodeHl7, peekCharset } from '../../hl7/charset.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { fixture } from './mllp-peer.ts';

test('MSH-18 is peeked from the raw bytes', async (t) => {
  t.is(peekCharset(await fixture('orm-o01-utf8.hl7')), 'UNICODE UTF-8');
  t.is(peekCharset(await fixture('adt-a04-latin1.hl7')), '8859/1');
  t.is(peekCharset(await fixture('orm-o01.hl7')), '');
});

test('UTF-8 names with accents decode and encode back to the same bytes', async (t) => {
  const bytes = await fixture('orm-o01-utf8.hl7');
  const { text, charset } = decodeHl7(bytes);
  t.is(charset, 'UNICODE UTF-8');
  t.is(Hl7Message.parse(text).get('PID-5.1'), 'Müller-Lüdenscheidt');
  t.deepEqual(encodeHl7(text, charset), bytes);
});

test('8859/1 names with accents decode and encode back to the same bytes', async (t) => {
  const bytes = await fixture('adt-a04-latin1.hl7');
  const { text, charset } = decodeHl7(bytes);
  t.is(charset, '8859/1');
  const m = Hl7Message.parse(text);
  t.is(m.get('PID-5.2'), 'Françoise');
  t.is(m.get('MSH-4'), 'HÔPITAL');
  t.deepEqual(encodeHl7(text, charset), bytes);
});

test('without MSH-18 the default applies: valid UTF-8 reads as UTF-8, other bytes as 8859/1', (t) => {
  const utf8 = Buffer.from('MSH|^~\\&|A|B\rPID|1||1||Zoë\r', 'utf8');
  const latin = Buffer.from('MSH|^~\\&|A|B\rPID|1||1||Zoë\r', 'latin1');
  t.is(decodeHl7(utf8).text.includes('Zoë'), true);
  t.is(decodeHl7(latin).text.includes('Zoë'), true);
  t.is(decodeHl7(latin).charset, '8859/1');
  t.is(decodeHl7(latin, '8859/1').charset, '8859/1');
});

test('an unknown charset or an unencodable character is refused with the reason', (t) => {
  t.throws(() => decodeHl7(Buffer.from('MSH|^~\\&|||||||ADT^A01|1|P|2.5||||||ISO IR87\r')), {
    message: /MSH-18: unsupported character set "ISO IR87"/,
  });
  t.throws(() => encodeHl7('Łódź', '8859/1'), { message: /U\+0141 cannot be sent as 8859\/1/ });
});

test('an unknown character set in any repetition of MSH-18 is refused, a known alternate is not', (t) => {
  const msh18 = (value: string) => Buffer.from(`MSH|^~\\&|||||||ADT^A01|1|P|2.5||||||${value}\rPID|1||1\r`);
  t.throws(() => decodeHl7(msh18('ASCII~KLINGON')), { message: /MSH-18: unsupported character set "KLINGON"/ });
  t.throws(() => decodeHl7(msh18('~KLINGON')), { message: /MSH-18: unsupported character set "KLINGON"/ });
  t.is(decodeHl7(msh18('UNICODE UTF-8~8859/1')).charset, 'UNICODE UTF-8');
  t.is(decodeHl7(msh18('~8859/1')).charset, 'UNICODE UTF-8', 'an empty first repetition takes the default');
});
