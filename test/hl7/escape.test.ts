import test from 'ava';
import { defaultDelimiters, escapeValue, unescapeValue } from '../../hl7/escape.ts';

const d = defaultDelimiters;

test('every delimiter round-trips through escape and unescape (v2.5.1 ch. 2.7.1)', (t) => {
  const value = 'a|b^c~d\\e&f';
  const escaped = escapeValue(value, d);
  t.is(escaped, 'a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f');
  t.is(unescapeValue(escaped, d), value);
});

test('line breaks travel as \\.br\\ and a bare CR as \\X0D\\', (t) => {
  t.is(escapeValue('one\ntwo\r\nthree\rfour', d), 'one\\.br\\two\\.br\\three\\X0D\\four');
  t.is(unescapeValue('one\\.br\\two\\X0D\\', d), 'one\ntwo\r');
});

test('hex escapes decode as bytes of the message charset', (t) => {
  t.is(unescapeValue('caf\\XE9\\', d), 'café');
  t.is(
    unescapeValue('caf\\XC3A9\\', d, (bytes) => bytes.toString('utf8')),
    'café',
  );
});

test('unknown or malformed sequences are kept as written', (t) => {
  t.is(unescapeValue('\\H\\bold\\N\\', d), '\\H\\bold\\N\\');
  t.is(unescapeValue('\\X0\\ and \\ alone', d), '\\X0\\ and \\ alone');
});

test('the v2.7 truncation character is escaped only when the message declares it', (t) => {
  t.is(escapeValue('#1', d), '#1');
  const v27 = { ...d, truncation: '#' };
  t.is(escapeValue('#1', v27), '\\P\\1');
  t.is(unescapeValue('\\P\\1', v27), '#1');
});
