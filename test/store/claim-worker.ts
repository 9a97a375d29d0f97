// Child process of two-processes.test.ts: opens the shared embedded store, waits for "go" on stdin, then claims
// queued documents one by one until none is left, and prints the claimed numbers as one JSON line.
import { createInterface } from 'node:readline';
import { EmbeddedStore } from '../../store/embedded/db.ts';

const [file, worker] = process.argv.slice(2);
if (file === undefined || worker === undefined) throw new Error('usage: claim-worker.ts <sqlite file> <worker name>');

const store = new EmbeddedStore(file);
const queue = store.db.collection('queue');
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  if (line === 'go') break;
}
const claimed: number[] = [];
for (;;) {
  const doc = await queue.findOneAndUpdate(
    { state: 'queued' },
    { $set: { state: 'claimed', by: worker } },
    { sort: { n: 1 }, returnDocument: 'after' },
  );
  if (doc === null) break;
  claimed.push(doc['n'] as number);
}
await store.close();
process.stdout.write(`${JSON.stringify({ worker, claimed })}\n`);
lines.close();
