// Child process of open-race.test.ts: loads the embedded engine, says "ready", and opens the store file named on
// its command line as soon as "go" arrives on stdin, so several processes open one new file at the same moment.
import { once } from 'node:events';
import { EmbeddedEngine } from '../../store/embedded/engine.ts';

const [file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: open-worker.ts <sqlite file>');
process.stdout.write('ready\n');
await once(process.stdin, 'data');
const engine = new EmbeddedEngine({ file });
await engine.close();
process.stdout.write('opened\n');
