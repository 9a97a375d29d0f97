// One hub process of the benchmark's hub.workers rows: the ingest path on a given port shared with its siblings
// (SO_REUSEPORT) over one store, as a worker of `hub.workers` runs it. Prints "ready" once it listens.
import { sharePortsWithSiblings } from '../../runtime/listener.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { startHub } from './hub.ts';

const [dir, portText] = process.argv.slice(2);
if (!dir || !portText) throw new Error('usage: hub-child.ts <dir> <port>');
setLogLevel('error');
sharePortsWithSiblings(true);
const hub = await startHub(dir, undefined, Number(portText));
process.stdout.write('ready\n');
process.once('SIGTERM', () => void hub.close().then(() => process.exit(0)));
