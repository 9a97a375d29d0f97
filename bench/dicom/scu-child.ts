// The hub's SCU alone in its own process (like storescu is), so its peak RSS is its own.
// argv: host port calledAe fileListPath; prints a JSON line with the seconds sendFiles() took (the hub pays
// Node's start-up once, not per send) and exits non-zero if any file failed.
import { readFile } from 'node:fs/promises';
import { sendFiles } from '../../dicom/scu.ts';
import { setLogLevel } from '../../runtime/log.ts';

const [host, port, calledAe, listFile] = process.argv.slice(2);
if (host === undefined || port === undefined || calledAe === undefined || listFile === undefined)
  throw new Error('usage: scu-child.ts host port calledAe fileList');
setLogLevel('warn');
const files = (await readFile(listFile, 'utf8')).split('\n').filter((line) => line !== '');
const started = performance.now();
const outcomes = await sendFiles({ host, port: Number(port), calledAe, callingAe: 'BENCHSCU' }, files);
const failed = outcomes.filter((outcome) => outcome.state !== 'success');
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ seconds, sent: outcomes.length - failed.length, failed: failed.length, first: failed[0] })}\n`,
);
process.exit(failed.length === 0 ? 0 : 1);
