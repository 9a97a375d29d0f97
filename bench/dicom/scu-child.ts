// The hub's SCU alone in its own process (like storescu is), so its peak RSS is its own.
// argv: host port calledAe fileListPath [associations]; prints a JSON line with the seconds and the CPU ms sendFiles() took (the
// hub pays Node's start-up once, not per send) and exits non-zero if any file failed.
import { readFile } from 'node:fs/promises';
import { consecutiveRuns } from '../../dicom/scu-destination.ts';
import { sendFiles } from '../../dicom/scu.ts';
import { setLogLevel } from '../../runtime/log.ts';

const [host, port, calledAe, listFile, associations = '1'] = process.argv.slice(2);
if (host === undefined || port === undefined || calledAe === undefined || listFile === undefined)
  throw new Error('usage: scu-child.ts host port calledAe fileList');
setLogLevel('warn');
const files = (await readFile(listFile, 'utf8')).split('\n').filter((line) => line !== '');
const started = performance.now();
const cpu = process.cpuUsage();
// As the dicom-scu destination sends with `associations` > 1: consecutive runs over parallel associations.
const peer = { host, port: Number(port), calledAe, callingAe: 'BENCHSCU' };
const runs = consecutiveRuns(files, Number(associations));
const outcomes = (await Promise.all(runs.map((run) => sendFiles(peer, run)))).flat();
const failed = outcomes.filter((outcome) => outcome.state !== 'success');
const seconds = (performance.now() - started) / 1000;
const used = process.cpuUsage(cpu);
/** CPU of the sending alone (all threads), without Node's start-up: the bench compares it with storescu's. */
const cpuMs = (used.user + used.system) / 1000;
process.stdout.write(
  `${JSON.stringify({ seconds, cpuMs, sent: outcomes.length - failed.length, failed: failed.length, first: failed[0] })}\n`,
);
process.exit(failed.length === 0 ? 0 : 1);
