// Channel and destination names that are paths are refused when a channel is saved, with the JSON path and the
// reason, like every other bad definition.
import test from 'ava';
import { parseChannelDefinition } from '../../channels/definition-schema.ts';
import { ValidationError } from '../../runtime/validate.ts';
import { TestPeers } from './test-connectors.ts';

const registry = new TestPeers().registry();

function channel(name: string, destination: string): unknown {
  return {
    id: 'orders',
    name,
    source: { type: 'test-source', settings: { name: 'orders' } },
    destinations: [{ name: destination, connector: { type: 'test-peer', settings: { peer: 'ris' } } }],
  };
}

test('destination and channel names that are paths, hold separators or control characters, or are only dots are refused', (t) => {
  const cases: Array<[string, string, string]> = [
    ['Orders', '../../x', 'destinations[0].name: a name may not hold a path separator (/ or \\)'],
    ['Orders', 'ris\\archive', 'destinations[0].name: a name may not hold a path separator (/ or \\)'],
    ['Orders', '..', 'destinations[0].name: a name may not be only dots'],
    ['Orders', 'ris\u0000x', 'destinations[0].name: a name may not hold control characters'],
    ['orders/../../etc', 'ris', 'name: a name may not hold a path separator (/ or \\)'],
  ];
  for (const [name, destination, message] of cases) {
    const error = t.throws(() => parseChannelDefinition(channel(name, destination), registry), {
      instanceOf: ValidationError,
    });
    t.is(error?.message, message);
  }
});

test('names with spaces, commas, dots and dashes are still fine', (t) => {
  const definition = parseChannelDefinition(channel('Orders to the RIS, v2.1', 'ris-archive.v2'), registry);
  t.is(definition.name, 'Orders to the RIS, v2.1');
  t.is(definition.destinations[0]?.name, 'ris-archive.v2');
});
