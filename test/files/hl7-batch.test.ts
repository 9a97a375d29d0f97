// HL7 batch files (v2.5 ch. 2.10.3) as sites drop them: envelopes dropped, one message per MSH, counts checked.
import test from 'ava';
import { splitHl7File } from '../../files/hl7-batch.ts';

const msh = (id: string) => `MSH|^~\\&|RIS|EAST|RSO|RSO|20240611093000||ADT^A08|${id}|P|2.5`;

test('a batch file with FHS/BHS and three messages gives three messages, envelopes dropped', (t) => {
  const text = ['FHS|^~\\&|RIS', 'BHS|^~\\&|RIS', msh('1'), 'PID|1||A', msh('2'), 'PID|1||B', msh('3'), 'PID|1||C']
    .concat(['BTS|3', 'FTS|1'])
    .join('\r\n');
  const split = splitHl7File(text);
  t.deepEqual('messages' in split ? split.messages.map((m) => m.split('\r')[1]) : split, [
    'PID|1||A',
    'PID|1||B',
    'PID|1||C',
  ]);
});

test('a batch whose BTS count does not match what it holds is refused whole', (t) => {
  const split = splitHl7File([msh('1'), 'PID|1||A', 'BTS|2'].join('\n'));
  t.deepEqual(split, { error: 'BTS-1 says 2 messages, the file holds 1' });
});

test('segments before any MSH, or no MSH at all, refuse the file', (t) => {
  t.deepEqual(splitHl7File('PID|1||A\r'), { error: 'segment 1 (PID) comes before any MSH' });
  t.deepEqual(splitHl7File('\n\n'), { error: 'the file holds no HL7 message (no MSH segment)' });
});

test('one message in MLLP framing, LF line ends', (t) => {
  const split = splitHl7File(`\u000b${msh('9')}\nPID|1||Z\n\u001c\r`);
  t.deepEqual(split, { messages: [`${msh('9')}\rPID|1||Z\r`] });
});
