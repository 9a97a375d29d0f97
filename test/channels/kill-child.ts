// Run by kill.test.ts as a separate hub process: receives numbered messages as fast as it can on a channel
// with a file destination and prints one line per outcome, until the test kills it with SIGKILL.
import { ChannelEngine } from '../../channels/engine.ts';
import { openTestStore } from './harness.ts';
import { TestPeers, channelJson, jsonMessage, quietLog } from './test-connectors.ts';

const [dataDir, outbox] = process.argv.slice(2);
if (!dataDir || !outbox) throw new Error('usage: kill-child.ts <dataDir> <outbox>');
const peers = new TestPeers();
const store = await openTestStore(dataDir);
const engine = new ChannelEngine({
  db: store.db,
  registry: peers.registry(),
  log: quietLog,
  pollIntervalMs: 20,
  leaseMs: 1000,
  owner: 'child',
});
await engine.start();
await engine.saveDefinition(
  channelJson('kill', [
    {
      name: 'out',
      connector: { type: 'file', settings: { directory: outbox, fileName: '{messageId}.json', sync: false } },
    },
  ]),
);
for (let n = 1; ; n++) {
  const outcome = await peers.receive('kill', jsonMessage({ n }));
  process.stdout.write(`${outcome.status} ${n} ${outcome.messageId ?? '-'}\n`);
}
