// Where the console shows a refused field: the hub names it by JSON path, the editor needs its line in the text.
import test from 'ava';
import { positionOf, syntaxErrorLine } from '../../admin-ui/app/src/ui/json-position.ts';

const text = JSON.stringify(
  {
    id: 'relay',
    source: { type: 'mllp', settings: { port: 6661 } },
    destinations: [{ name: 'a' }, { name: 'ehr', connector: { settings: { port: 'eighty', 'odd.key': 1 } } }],
  },
  null,
  2,
);
const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

test('a path the hub names is found at the line of its value', (t) => {
  t.is(positionOf(text, 'destinations[1].connector.settings.port')?.line, lineOf('"eighty"'));
  t.is(positionOf(text, 'source.settings.port')?.line, lineOf('6661'));
  t.is(positionOf(text, 'destinations[0].name')?.line, lineOf('"a"'));
  t.is(positionOf(text, 'id')?.column, 9, 'the column of the value, after `  "id": `');
});

test('a missing key is shown at the nearest object that exists', (t) => {
  t.is(positionOf(text, 'destinations[0].connector.type')?.line, lineOf('"name": "a"') - 1);
  t.is(positionOf(text, 'destinations[7]')?.line, lineOf('"destinations"'));
});

test('text that is not JSON has no positions, and the line where it stops being JSON is found', (t) => {
  const broken = '{\n  "id": "relay",\n  "name": oops\n}';
  t.is(positionOf(broken, 'id'), undefined);
  try {
    JSON.parse(broken);
    t.fail('parsed');
  } catch (error) {
    t.true(error instanceof SyntaxError);
    t.is(syntaxErrorLine(broken), 3);
  }
});

test('a trailing comma, an unterminated string and text after the document are each placed at their line', (t) => {
  t.is(syntaxErrorLine('{\n  "a": 1,\n}'), 3);
  t.is(syntaxErrorLine('{\n  "a": "open\n}'), 2);
  t.is(syntaxErrorLine('{}\n\nextra'), 3);
  t.is(syntaxErrorLine('{\n  "a": [1, 2]\n}'), undefined);
});
