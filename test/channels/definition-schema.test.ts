import test from 'ava';
import { readFile } from 'node:fs/promises';
import { parseChannelDefinition } from '../../channels/definition-schema.ts';
import { ValidationError } from '../../runtime/validate.ts';
import { TestPeers } from './test-connectors.ts';

const fixtures = new URL('../fixtures/channels/', import.meta.url);
const registry = new TestPeers().registry();

test('a complete definition is accepted with its settings parsed by the connector types', async (t) => {
  const input: unknown = JSON.parse(await readFile(new URL('valid-channel.json', fixtures), 'utf8'));
  const definition = parseChannelDefinition(input, registry);
  t.is(definition.id, 'orders-in');
  t.deepEqual(
    definition.destinations.map((d) => [d.name, d.queue, d.maxAttempts, d.onExhausted]),
    [
      ['ris', 'ordered', 0, 'pause'],
      ['archive', 'unordered', 5, 'error'],
    ],
  );
  t.deepEqual(definition.destinations[0]!.connector.settings, { peer: 'ris', port: 2575 });
  t.deepEqual(definition.destinations[1]!.connector.settings, {
    directory: '/tmp/rso-archive',
    fileName: '{messageId}.txt',
    sync: true,
  });
  t.deepEqual(
    definition.destinations[1]!.retry,
    { initialDelayMs: 1000, maxDelayMs: 60000, multiplier: 2 },
    'defaults fill a missing retry',
  );
});

test('defaults: enabled, ordered queue, retry for ever, 30 days retention', (t) => {
  const definition = parseChannelDefinition(
    {
      id: 'min',
      name: 'Minimal',
      source: { type: 'test-source', settings: { name: 'min' } },
      destinations: [{ name: 'd', connector: { type: 'test-peer', settings: { peer: 'p' } } }],
    },
    registry,
  );
  t.true(definition.enabled);
  t.is(definition.retentionDays, 30);
  t.is(definition.destinations[0]!.queue, 'ordered');
  t.is(definition.destinations[0]!.maxAttempts, 0);
});

test('a channel answers after validation unless it names the destination whose outcome it answers with', (t) => {
  const base = {
    id: 'r',
    name: 'R',
    source: { type: 'test-source', settings: { name: 'r' } },
    destinations: [{ name: 'ris', connector: { type: 'test-peer', settings: { peer: 'p' } } }],
  };
  t.is(parseChannelDefinition(base, registry).response, undefined);
  t.is(parseChannelDefinition({ ...base, response: 'after-validation' }, registry).response, 'after-validation');
  t.deepEqual(parseChannelDefinition({ ...base, response: { afterDestination: 'ris' } }, registry).response, {
    afterDestination: 'ris',
    timeoutMs: 10_000,
  });
  t.deepEqual(
    parseChannelDefinition({ ...base, response: { afterDestination: 'ris', timeoutMs: 2500 } }, registry).response,
    { afterDestination: 'ris', timeoutMs: 2500 },
  );
});

test('bad definitions are refused with the JSON path and the reason', async (t) => {
  const cases = JSON.parse(await readFile(new URL('bad-definitions.json', fixtures), 'utf8')) as Array<{
    case: string;
    error: string;
    definition: unknown;
  }>;
  t.true(cases.length >= 10);
  for (const c of cases) {
    const error = t.throws(
      () => parseChannelDefinition(c.definition, registry),
      { instanceOf: ValidationError },
      c.case,
    );
    t.true(error?.message.startsWith(c.error), `${c.case}: got "${error?.message}"`);
  }
});

test('a path prefix is kept in front of every error (a definition inside a larger document)', (t) => {
  const error = t.throws(() =>
    parseChannelDefinition({ id: 'x', name: 'X', source: {}, destinations: [] }, registry, 'channels[2]'),
  );
  t.is(error?.message, 'channels[2].source.type: expected a non-empty string');
});
