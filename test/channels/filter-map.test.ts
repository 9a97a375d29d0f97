import test from 'ava';
import { readFile } from 'node:fs/promises';
import { evaluateFilter } from '../../channels/filter.ts';
import { CompiledMap } from '../../channels/map-step.ts';
import { jsonDataType } from '../../channels/json-data-type.ts';
import { rawDataType } from '../../channels/raw-data-type.ts';
import { ScriptError, ScriptStep } from '../../channels/script-step.ts';
import { scriptThreadRunning } from '../../channels/script-thread.ts';
import { setThreadIdleSeconds } from '../../runtime/idle-thread.ts';
import { until } from '../support/channels.ts';
import { parseFilter } from '../../channels/definition-schema.ts';

const orderText = await readFile(new URL('../fixtures/channels/order.json', import.meta.url), 'utf8');
const order = () => jsonDataType.parse(orderText);

test('filter rules: eq, ne, in, exists, matches on json paths', (t) => {
  const doc = order();
  const passes = (input: unknown) => evaluateFilter(parseFilter(input, 'filter'), doc);
  t.true(passes({ path: 'messageType', operator: 'eq', value: 'ORM^O01' }));
  t.false(passes({ path: 'messageType', operator: 'ne', value: 'ORM^O01' }));
  t.true(passes({ path: 'modality', operator: 'in', value: ['mr', 'ct'] }));
  t.true(passes({ path: 'accession', operator: 'exists' }));
  t.true(passes({ path: 'reason', operator: 'exists', value: false }));
  t.true(passes({ path: 'patient.name', operator: 'matches', value: '^DOE\\^' }));
  t.true(passes({ path: 'patient.ids', operator: 'eq', value: 'ALT-55' }), 'a repeated field matches on any value');
  t.false(passes({ path: 'patient.ids', operator: 'ne', value: 'ALT-55' }), 'ne holds only when no value equals');
});

test('filter groups combine with and/or, nested', (t) => {
  const doc = order();
  const filter = parseFilter(
    {
      and: [
        { path: 'messageType', operator: 'eq', value: 'ORM^O01' },
        {
          or: [
            { path: 'priority', operator: 'eq', value: 'STAT' },
            { path: 'modality', operator: 'eq', value: 'ct' },
          ],
        },
      ],
    },
    'filter',
  );
  t.true(evaluateFilter(filter, doc));
  t.false(
    evaluateFilter(
      parseFilter(
        {
          or: [
            { path: 'priority', operator: 'eq', value: 'STAT' },
            { path: 'x', operator: 'exists' },
          ],
        },
        'filter',
      ),
      doc,
    ),
  );
});

test('declarative mappings set constants and copy fields, in order', (t) => {
  const map = new CompiledMap({
    mappings: [
      { target: 'routing.site', value: 'RSO-1' },
      { target: 'mrn', from: 'patient.ids.1' },
      { target: 'copy', from: 'mrn' },
      { target: 'none', from: 'missing' },
    ],
  });
  const result = map.apply(order(), jsonDataType).toJSON() as Record<string, unknown>;
  t.deepEqual(result['routing'], { site: 'RSO-1' });
  t.is(result['mrn'], 'ALT-55');
  t.is(result['copy'], 'ALT-55');
  t.false('none' in result, 'a missing source leaves the target untouched');
});

test('a mapping cannot write through __proto__', (t) => {
  const map = new CompiledMap({ mappings: [{ target: '__proto__.polluted', value: 'yes' }] });
  t.throws(() => map.apply(order(), jsonDataType));
  t.is(({} as Record<string, unknown>)['polluted'], undefined);
});

test('the script step modifies msg in place or returns a new value', (t) => {
  const inPlace = new CompiledMap({
    script: 'msg.modality = msg.modality.toUpperCase(); msg.n = msg.patient.ids.length;',
  });
  const out = inPlace.apply(order(), jsonDataType).toJSON() as Record<string, unknown>;
  t.is(out['modality'], 'CT');
  t.is(out['n'], 2);
  const replaced = new CompiledMap({ script: 'return { only: msg.accession };' });
  t.is(replaced.apply(order(), jsonDataType).toString(), '{"only":"ACC-77"}');
});

test('mappings run before the script, on raw content too', (t) => {
  const map = new CompiledMap({ mappings: [{ target: '', value: 'hello' }], script: "return msg + ' world';" });
  t.is(map.apply(rawDataType.parse('ignored'), rawDataType).toString(), 'hello world');
});

test('a script that loops for ever is stopped by its time limit', (t) => {
  const step = new ScriptStep('while (true) {}', 100);
  const error = t.throws(() => step.run({}), { instanceOf: ScriptError });
  t.is(error?.message, 'the script ran longer than 100 ms');
});

test('a script that allocates without bound ends only the script thread; the next script runs', (t) => {
  // Within its time limit this would take the whole hub's heap (gigabytes); the script thread's limit stops it.
  const hog = new ScriptStep('const keep = []; for (;;) keep.push(new Array(1e6).fill(msg.n));', 2000);
  const error = t.throws(() => hog.run({ n: 1 }), { instanceOf: ScriptError });
  t.regex(error?.message ?? '', /used more than \d+ MB of memory/);
  t.deepEqual(new ScriptStep('msg.n += 1;', 1000).run({ n: 1 }), { n: 2 });
});

test('a script has no ArrayBuffer, typed arrays or WebAssembly, whose memory no heap limit counts', (t) => {
  for (const source of [
    'new ArrayBuffer(2 ** 30)',
    'new Float64Array(2 ** 27)',
    'new SharedArrayBuffer(8)',
    'new WebAssembly.Memory({ initial: 1 })',
  ]) {
    const error = t.throws(() => new ScriptStep(source, 500).run({}), { instanceOf: ScriptError }, source);
    t.regex(error?.message ?? '', /is not defined/, source);
  }
});

test('a script cannot reach process, require or the host realm', (t) => {
  const escapes = [
    "return this.constructor.constructor('return process')().pid;",
    "return msg.constructor.constructor('return process')().pid;",
    'return require("fs");',
    'return process.env;',
    "return (function(){ return this })().constructor.constructor('return process')().version;",
    'return globalThis.process;',
  ];
  for (const source of escapes) {
    let result: unknown;
    try {
      result = new ScriptStep(source, 500).run({ a: 1 });
    } catch (error) {
      t.true(error instanceof ScriptError, source);
      t.regex((error as Error).message, /not defined|undefined|null/, source);
      continue;
    }
    // `undefined` from the script means "msg unchanged", so the input comes back: nothing from the host.
    t.deepEqual(result, { a: 1 }, source);
  }
});

test('a script that throws a hostile object does not run code outside the time limit', (t) => {
  const source = 'throw new Proxy({}, { get() { while (true) {} } });';
  const error = t.throws(() => new ScriptStep(source, 100).run({}), { instanceOf: ScriptError });
  t.regex(error?.message ?? '', /longer than 100 ms|script error/);
});

test('a script error names the step and the error', (t) => {
  const error = t.throws(() => new ScriptStep('msg.a.b.c = 1;', 500).run({}), { instanceOf: ScriptError });
  t.regex(error?.message ?? '', /^script error: TypeError: Cannot (read|set) properties of undefined/);
});

test('a script that replaces JSON in its context gets a script error, not a crash', (t) => {
  const error = t.throws(() => new ScriptStep("JSON.stringify = () => 'not json'; return 1;", 500).run({}), {
    instanceOf: ScriptError,
  });
  t.is(error?.message, 'script error: the result is not JSON-serialisable');
});

test.serial('the script thread ends when idle, and the next script starts it again', async (t) => {
  setThreadIdleSeconds(0.3);
  t.teardown(() => setThreadIdleSeconds(30));
  const step = new ScriptStep('msg.n = msg.n + 1;');
  t.deepEqual(step.run({ n: 1 }), { n: 2 });
  t.true(scriptThreadRunning());
  await until(() => !scriptThreadRunning(), 10_000, 'the idle script thread to end');
  t.false(scriptThreadRunning(), 'ended after the idle time');
  t.deepEqual(step.run({ n: 2 }), { n: 3 });
});
