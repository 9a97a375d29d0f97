// A large study sent over parallel associations (issue 16, goal 3): 1,000 × ~100 KB instances from the hub's SCU
// over 1 and over N associations (the dicom-scu destination's `associations`), beside storescu's single association
// to the same receiver in the same run. The receiver is storescp --fork (a process per association, as a PACS
// serves associations side by side), storing as received without fsync, so the sender's side is what is measured.
// Medians of BENCH_ROUNDS (5) rounds, the paths interleaved. Command: `npm run bench -- dicom-send`.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { busyMs, endedChildrenCpuMs, machineLine, machineTicks, writeSection } from '../report.ts';
import { spec, writeInstance } from '../../test/dicom/make-instance.ts';
import { dcmtkEnv, stopChild, waitForPort } from '../../test/dicom/peers.ts';
import { freePort } from '../../test/support/hub-process.ts';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const count = 1000;
const parallel = [2, 4];
const scuChild = path.join(import.meta.dirname, '..', 'dicom', 'scu-child.ts');

async function makeStudy(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const study = spec();
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `${String(i).padStart(4, '0')}.dcm`);
    await writeInstance(
      file,
      spec({
        studyInstanceUid: study.studyInstanceUid,
        seriesInstanceUid: study.seriesInstanceUid,
        pixelBytes: 100 * 1024,
      }),
    );
    files.push(file);
  }
  return files;
}

async function startReceiver(dir: string): Promise<{ port: number; child: ChildProcess }> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const child = spawn('storescp', ['--fork', '+B', '-aet', 'STORESCP', '-od', dir, String(port)], {
    env: dcmtkEnv,
    stdio: 'ignore',
  });
  await waitForPort(port, 'storescp');
  return { port, child };
}

async function run(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { env: dcmtkEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} exited ${code}: ${output.slice(-500)}`);
  return output;
}

interface Send {
  seconds: number;
  /** CPU of the sender while it sent (storescu: its whole run; the hub SCU: its sendFiles() calls), ms. */
  senderCpuMs: number;
  /** CPU of the whole machine (both cores) while it sent, ms: sender, receiver processes and the rest. */
  machineCpuMs: number;
}

/**
 * One path: storescu's whole run, or the hub SCU's sendFiles() calls inside its process, timed, with the CPU
 * the sender and the whole machine spent on it, so the run says how far two cores allow the rate to go.
 */
async function timedSend(files: string[], listFile: string, associations: number | 'storescu'): Promise<Send> {
  const dir = path.join(path.dirname(listFile), 'received');
  const receiver = await startReceiver(dir);
  try {
    let send: Send;
    const childrenBefore = await endedChildrenCpuMs();
    const machineBefore = await machineTicks();
    if (associations === 'storescu') {
      const started = performance.now();
      await run('storescu', ['-aet', 'BENCH', '-aec', 'STORESCP', '127.0.0.1', String(receiver.port), ...files]);
      const seconds = (performance.now() - started) / 1000;
      const senderCpuMs = (await endedChildrenCpuMs()) - childrenBefore;
      send = { seconds, senderCpuMs, machineCpuMs: busyMs(machineBefore, await machineTicks()) };
    } else {
      const output = await run(process.execPath, [
        scuChild,
        '127.0.0.1',
        String(receiver.port),
        'STORESCP',
        listFile,
        String(associations),
      ]);
      const machineAfter = await machineTicks();
      const { seconds, cpuMs } = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as {
        seconds: number;
        cpuMs: number;
      };
      // The machine's window also holds Node's start-up in the child, which the timed sendFiles() does not.
      const startUpMs = (await endedChildrenCpuMs()) - childrenBefore - cpuMs;
      send = { seconds, senderCpuMs: cpuMs, machineCpuMs: busyMs(machineBefore, machineAfter) - startUpMs };
    }
    // storescp --fork's children may still be closing their last file: count once they are gone.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stored = (await readdir(dir)).length;
    if (stored !== files.length) throw new Error(`${stored} of ${files.length} instances arrived`);
    return send;
  } finally {
    await stopChild(receiver.child);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const fmt = (value: number, digits: number) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const root = await mkdtemp(path.join(os.tmpdir(), 'rso-bench-dicom-send-'));
try {
  console.log('generating instances…');
  const files = await makeStudy(path.join(root, 'study'));
  const listFile = path.join(root, 'files.txt');
  await writeFile(listFile, files.join('\n'));
  const paths: Array<number | 'storescu'> = ['storescu', 1, ...parallel];
  const sends = new Map<number | 'storescu', Send[]>(paths.map((p) => [p, []]));
  for (let round = 0; round < rounds; round++) {
    for (const p of paths) sends.get(p)!.push(await timedSend(files, listFile, p));
    console.log(
      `round ${round + 1}: ${paths.map((p) => `${p} ${sends.get(p)!.at(-1)!.seconds.toFixed(2)} s`).join(', ')}`,
    );
  }
  const of = (p: number | 'storescu', field: keyof Send) => median(sends.get(p)!.map((send) => send[field]));
  const reference = of('storescu', 'seconds');
  const perInstance = (ms: number) => fmt(ms / count, 3);
  const rows = paths.map((p) => {
    const seconds = of(p, 'seconds');
    const name =
      p === 'storescu' ? 'storescu, 1 association (reference)' : `**hub SCU**, ${p} association${p === 1 ? '' : 's'}`;
    return `| ${name} | ${fmt(seconds, 2)} | ${fmt(count / seconds, 0)} | ${fmt(seconds / reference, 2)}× | ${perInstance(of(p, 'senderCpuMs'))} | ${perInstance(of(p, 'machineCpuMs'))} |`;
  });
  const four = of(4, 'seconds') / reference;
  const cores = os.availableParallelism();
  const goalSeconds = 0.6 * reference;
  // At 4 associations the sender and storescp's receivers share the cores, so the study cannot take less than
  // the CPU they spend over the cores, whatever the protocol's round trips allow. What the receivers (and the
  // rest of the machine) spend is the machine's CPU less the sender's, read off the same row.
  const floorSeconds = of(4, 'machineCpuMs') / 1000 / cores;
  const receiverMs = (of(4, 'machineCpuMs') - of(4, 'senderCpuMs')) / count;
  const storescuSenderMs = of('storescu', 'senderCpuMs') / count;
  const hubSenderMs = of(4, 'senderCpuMs') / count;
  const senderBudgetMs = (goalSeconds * 1000 * cores) / count - receiverMs;
  const markdown = `## A 1,000-instance study over parallel associations (issue 16, goal 3)

Command: \`npm run bench -- dicom-send\` · ${machineLine()}

1,000 × ~100 KB instances of one study, loopback, to storescp \`--fork +B\` (one process per association, no
fsync), medians of ${rounds} rounds with the paths interleaved. The hub's SCU cuts the study into consecutive runs,
one per association, as the \`dicom-scu\` destination does with \`associations: N\`.

| sender | seconds | inst/s | time vs storescu | sender CPU ms/inst | machine CPU ms/inst |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

At 4 associations the study takes ${fmt(four, 2)}× the time of one storescu association (goal ≤ 0.6×)${four <= 0.6 ? ': met' : ': not met'}.
Load average at the end of the run: ${os.loadavg()[0]!.toFixed(1)} on ${cores} cores.

CPU columns: the sender's own CPU while it sent (storescu's whole run; the hub SCU's send, without Node's start-up),
and the whole machine's busy time over the same window (the sender, storescp's forked receivers and anything
else running), per instance. On ${cores} cores a study cannot take less than the CPU it costs over the cores: at 4
associations that is ${fmt(floorSeconds, 2)} s (the goal: ${fmt(goalSeconds, 2)} s, 0.6 × ${fmt(reference, 2)} s). The
receivers and the rest of the machine took ${fmt(receiverMs, 3)} ms an instance of it, so ${
    senderBudgetMs <= 0
      ? 'they alone leave no time within the goal on these cores: no sender can meet it here'
      : `a sender may spend at most ${fmt(senderBudgetMs, 3)} ms an instance for the goal to be within reach here`
  }; the hub SCU spent ${fmt(hubSenderMs, 3)} ms, storescu ${fmt(storescuSenderMs, 3)} ms on one association.
`;
  console.log(markdown);
  await writeSection('dicom-send', markdown);
} finally {
  await rm(root, { recursive: true, force: true });
}
