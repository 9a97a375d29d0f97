// Child process of crash.test.ts: inserts documents one at a time into the embedded store and prints the
// number of each one as soon as its insertOne has resolved (the hub would acknowledge it at that moment).
import { EmbeddedStore } from '../../store/embedded/db.ts';

const [file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: insert-worker.ts <sqlite file>');
const store = new EmbeddedStore(file);
const messages = store.db.collection('messages');
await messages.createIndex({ n: 1 }, { unique: true });
for (let n = 0; ; n++) {
  await messages.insertOne({ n, raw: `MSH|^~\\&|RIS|F1|HUB|RSO|20240101||ORM^O01|${n}|P|2.5` });
  process.stdout.write(`${n}\n`);
}
