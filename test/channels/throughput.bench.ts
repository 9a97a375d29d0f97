// Engine throughput on the embedded store, for the lead to fold into bench/ (npm run bench). Not a test: it
// asserts nothing and prints figures. Usage: node test/channels/throughput.bench.ts [messages]
// "receive": receive() calls per second with both destinations paused (store raw + map + enqueue, durable).
// "end-to-end": messages per second until both destinations (one ordered, one unordered) delivered them all.
import { TestPeers, channelJson, jsonMessage, peerDestination, startEngine, tempDir, waitFor } from './harness.ts';

const count = Number(process.argv[2] ?? 1000);

async function run(paused: boolean): Promise<number> {
  const tmp = await tempDir('bench');
  const peers = new TestPeers();
  const { engine, close } = await startEngine(peers, tmp.dir, { pollIntervalMs: 200 });
  await engine.saveDefinition(
    channelJson('bench', [peerDestination('ris', 'ris'), peerDestination('pacs', 'pacs', { queue: 'unordered' })]),
  );
  if (paused) {
    await engine.pauseDestination('bench', 'ris');
    await engine.pauseDestination('bench', 'pacs');
  }
  const start = performance.now();
  for (let n = 0; n < count; n++)
    await peers.receive('bench', jsonMessage({ messageType: 'ORM^O01', controlId: `C${n}`, patientId: 'MRN-1', n }));
  if (!paused)
    await waitFor(
      'all delivered',
      () => peers.peer('ris').delivered.length === count && peers.peer('pacs').delivered.length === count,
      600_000,
    );
  const seconds = (performance.now() - start) / 1000;
  await close();
  await tmp.remove();
  return Math.round(count / seconds);
}

const receive = await run(true);
const endToEnd = await run(false);
console.log(
  JSON.stringify({
    messages: count,
    receivePerSecond: receive,
    endToEndPerSecond: endToEnd,
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
  }),
);
