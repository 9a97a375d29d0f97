// DICOM C-STORE throughput and memory, the hub beside dcmtk in the same run:
//   ingest: storescu -> storescp (reference) vs storescu -> hub SCP
//   send:   storescu -> storescp (reference) vs hub SCU -> storescp
// for 500 × ~100 KB and 20 × ~20 MB instances, plus two diagnostic ingest rows: the hub SCP with fsync off, and
// dcmjs-dimse's Scp subclassed with its streaming hook (the design the hub's own upper layer replaced).
// Every receiver and sender is its own process, so each peak RSS (VmHWM, or /usr/bin/time for storescu) is that
// process's alone. Medians of 5 rounds; rounds interleave the paths so machine noise hits them alike.
// Command: `npm run bench -- dicom`.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { machineLine, writeSection } from '../report.ts';
import { valleyFacility } from '../../test/hub/dicom-support.ts';
import { defaultTestConfig, startHub, waitHealthy } from '../../test/support/hub-process.ts';
import { spec, writeInstance } from '../../test/dicom/make-instance.ts';
import { dcmtkEnv, startOrthanc, startStorescp, stopChild, waitForPort } from '../../test/dicom/peers.ts';

const here = import.meta.dirname;
const node = process.execPath;
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);

interface Workload {
  name: string;
  count: number;
  pixelBytes: number;
  files: string[];
  totalBytes: number;
}

interface Run {
  seconds: number;
  receiverRssMiB: number;
  senderRssMiB: number;
}

async function makeWorkload(root: string, name: string, count: number, pixelBytes: number): Promise<Workload> {
  const dir = path.join(root, name.replace(/[^a-z0-9]+/gi, '-'));
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  let totalBytes = 0;
  const study = spec();
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `${String(i).padStart(4, '0')}.dcm`);
    const bytes = await writeInstance(
      file,
      spec({ studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: study.seriesInstanceUid, pixelBytes }),
    );
    totalBytes += bytes.length;
    files.push(file);
  }
  return { name, count, pixelBytes, files, totalBytes };
}

async function vmHwmMiB(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match === null ? NaN : Number(match[1]) / 1024;
}

interface Receiver {
  port: number;
  aeTitle: string;
  child: ChildProcess;
  dir: string;
  /** How many instances the receiver holds; by default the files in `dir`. */
  stored?: () => Promise<number>;
}

/** storescp +B stores the data set exactly as received: the same work the hub's SCP does (no re-encoding). */
async function startStorescpReceiver(dir: string): Promise<Receiver> {
  const storescp = await startStorescp(dir);
  return { port: storescp.port, aeTitle: storescp.aeTitle, child: storescp.child, dir };
}

async function startHubScp(dir: string, sync: 'sync' | 'nosync' = 'sync'): Promise<Receiver> {
  const child = spawn(node, [path.join(here, 'scp-child.ts'), dir, sync], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const { port } = JSON.parse(line) as { port: number };
    return { port, aeTitle: 'HUB', child, dir };
  }
  throw new Error('scp-child exited before listening');
}

/** Orthanc with its defaults: it fsyncs each file (SyncStorageArea) and indexes it in SQLite, as the hub does. */
async function startOrthancReceiver(dir: string): Promise<Receiver> {
  const orthanc = await startOrthanc(dir, 'BENCH');
  const stored = async (): Promise<number> =>
    ((await orthanc.get('/statistics')) as { CountInstances: number }).CountInstances;
  return { port: orthanc.port, aeTitle: orthanc.aeTitle, child: orthanc.child, dir, stored };
}

/**
 * The whole hub (`node hub.ts`) with a facility whose AE title is the benchmark's: each instance goes through the
 * SCP, the study index, exam matching and the completion schedule, as in production.
 */
async function startWholeHub(dir: string): Promise<Receiver> {
  const hub = await startHub({
    dataDir: dir,
    facilities: [await valleyFacility({ aeTitles: ['BENCH'] })],
    config: defaultTestConfig.replace('logLevel: info', 'logLevel: warn'),
  });
  await waitHealthy(hub);
  const stored = async (): Promise<number> => {
    const studies = path.join(dir, 'dicom', 'studies');
    let count = 0;
    for (const study of await readdir(studies))
      count += (await readdir(path.join(studies, study))).filter((name) => name.endsWith('.dcm')).length;
    return count;
  };
  return { port: hub.dicomPort, aeTitle: 'RSO_HUB', child: hub.child, dir, stored };
}

async function startDcmjsScp(dir: string): Promise<Receiver> {
  const child = spawn(node, [path.join(here, 'dcmjs-scp-child.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const { port } = JSON.parse(line) as { port: number };
    await waitForPort(port, 'the SCP under test');
    return { port, aeTitle: 'HUB', child, dir };
  }
  throw new Error('dcmjs-scp-child exited before listening');
}

/** Runs a sender under /usr/bin/time for its peak RSS; resolves with wall seconds and its stdout. */
async function timed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; rssMiB: number; stdout: string }> {
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', command, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${command} exited ${code}: ${stderr.slice(-500)} ${stdout.slice(-500)}`);
  const match = /MAXRSS (\d+)/.exec(stderr);
  return { seconds, rssMiB: match === null ? NaN : Number(match[1]) / 1024, stdout };
}

async function storescu(receiver: Receiver, workload: Workload): Promise<{ seconds: number; rssMiB: number }> {
  return timed(
    'storescu',
    ['-aet', 'BENCH', '-aec', receiver.aeTitle, '127.0.0.1', String(receiver.port), ...workload.files],
    dcmtkEnv,
  );
}

async function hubScu(
  receiver: Receiver,
  workload: Workload,
  listFile: string,
): Promise<{ seconds: number; rssMiB: number }> {
  await writeFile(listFile, workload.files.join('\n'));
  const run = await timed(
    node,
    [path.join(here, 'scu-child.ts'), '127.0.0.1', String(receiver.port), receiver.aeTitle, listFile],
    process.env,
  );
  const { seconds } = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { seconds: number };
  return { seconds, rssMiB: run.rssMiB };
}

async function withReceiver(
  start: (dir: string) => Promise<Receiver>,
  dir: string,
  workload: Workload,
  send: (receiver: Receiver) => Promise<{ seconds: number; rssMiB: number }>,
): Promise<Run> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const receiver = await start(dir);
  try {
    const sent = await send(receiver);
    const receiverRssMiB = await vmHwmMiB(receiver.child.pid);
    const stored = receiver.stored
      ? await receiver.stored()
      : (await readdir(dir)).filter((name) => name.endsWith('.dcm') || name.startsWith('CT.')).length;
    if (stored !== workload.count) throw new Error(`${dir}: ${stored} instances stored, expected ${workload.count}`);
    return { seconds: sent.seconds, receiverRssMiB, senderRssMiB: sent.rssMiB };
  } finally {
    await stopChild(receiver.child);
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function summarise(runs: Run[]): Run {
  return {
    seconds: median(runs.map((run) => run.seconds)),
    receiverRssMiB: Math.max(...runs.map((run) => run.receiverRssMiB)),
    senderRssMiB: Math.max(...runs.map((run) => run.senderRssMiB)),
  };
}

const fmt = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function row(path: string, workload: Workload, run: Run, reference: Run): string {
  const perSecond = workload.count / run.seconds;
  const mbPerSecond = workload.totalBytes / run.seconds / 1e6;
  const ratio = reference.seconds / run.seconds;
  return `| ${path} | ${workload.name} | ${fmt(perSecond, 1)} | ${fmt(mbPerSecond, 1)} | ${fmt(ratio, 2)}× | ${fmt(run.receiverRssMiB)} | ${fmt(run.senderRssMiB)} |`;
}

/**
 * The device's price of durability, measured where the instances land: milliseconds to create a file, write
 * `bytes` to it, fdatasync and close it (the least an SCP that answers after the data is on disk must do per
 * instance). Median of `count`.
 */
function syncedWriteMs(dir: string, bytes: number, count: number): number {
  const data = Buffer.alloc(bytes, 0x5a);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const fd = openSync(path.join(dir, `probe-${i}.bin`), 'wx');
    writeSync(fd, data);
    fdatasyncSync(fd);
    closeSync(fd);
    times.push(performance.now() - started);
  }
  return median(times);
}

const root = await mkdtemp(path.join(os.tmpdir(), 'rso-bench-dicom-'));
try {
  console.log('generating instances…');
  const workloads = [
    await makeWorkload(root, '500 × 100 KB', 500, 100 * 1024),
    await makeWorkload(root, '20 × 20 MB', 20, 20 * 1024 * 1024),
  ];
  const lines: string[] = [];
  const verdicts: string[] = [];
  for (const workload of workloads) {
    const reference: Run[] = [];
    const ingest: Run[] = [];
    const ingestNoSync: Run[] = [];
    const ingestDcmjs: Run[] = [];
    const ingestHub: Run[] = [];
    const ingestOrthanc: Run[] = [];
    const send: Run[] = [];
    const listFile = path.join(root, 'files.txt');
    for (let round = 0; round < rounds; round++) {
      reference.push(
        await withReceiver(startStorescpReceiver, path.join(root, 'in-storescp'), workload, (receiver) =>
          storescu(receiver, workload),
        ),
      );
      ingest.push(
        await withReceiver(startHubScp, path.join(root, 'in-hub'), workload, (receiver) =>
          storescu(receiver, workload),
        ),
      );
      ingestNoSync.push(
        await withReceiver(
          (dir) => startHubScp(dir, 'nosync'),
          path.join(root, 'in-hub'),
          workload,
          (receiver) => storescu(receiver, workload),
        ),
      );
      ingestDcmjs.push(
        await withReceiver(startDcmjsScp, path.join(root, 'in-dcmjs'), workload, (receiver) =>
          storescu(receiver, workload),
        ),
      );
      ingestHub.push(
        await withReceiver(startWholeHub, path.join(root, 'in-whole-hub'), workload, (receiver) =>
          storescu(receiver, workload),
        ),
      );
      ingestOrthanc.push(
        await withReceiver(startOrthancReceiver, path.join(root, 'in-orthanc'), workload, (receiver) =>
          storescu(receiver, workload),
        ),
      );
      send.push(
        await withReceiver(startStorescpReceiver, path.join(root, 'in-storescp'), workload, (receiver) =>
          hubScu(receiver, workload, listFile),
        ),
      );
      console.log(
        `${workload.name} round ${round + 1}: storescp ${reference.at(-1)?.seconds.toFixed(2)} s, hub SCP ${ingest.at(-1)?.seconds.toFixed(2)} s (no fsync ${ingestNoSync.at(-1)?.seconds.toFixed(2)} s), dcmjs-dimse Scp ${ingestDcmjs.at(-1)?.seconds.toFixed(2)} s, whole hub ${ingestHub.at(-1)?.seconds.toFixed(2)} s, Orthanc ${ingestOrthanc.at(-1)?.seconds.toFixed(2)} s, hub SCU ${send.at(-1)?.seconds.toFixed(2)} s`,
      );
    }
    const ref = summarise(reference);
    const ours = summarise(ingest);
    const oursNoSync = summarise(ingestNoSync);
    const dcmjs = summarise(ingestDcmjs);
    const sent = summarise(send);
    const whole = summarise(ingestHub);
    const orthanc = summarise(ingestOrthanc);
    lines.push(row('storescu -> storescp (reference)', workload, ref, ref));
    lines.push(row('storescu -> **hub SCP**', workload, ours, ref));
    lines.push(row('storescu -> hub SCP, fsync off (diagnostic)', workload, oursNoSync, ref));
    lines.push(row('storescu -> dcmjs-dimse Scp subclass, streamed, no fsync', workload, dcmjs, ref));
    lines.push(row('storescu -> **whole hub** (SCP, study index, exam match; `node hub.ts`)', workload, whole, ref));
    lines.push(row('storescu -> Orthanc (same durability: fsync per file, SQLite index)', workload, orthanc, ref));
    lines.push(row('**hub SCU** -> storescp', workload, sent, ref));
    const probeDir = path.join(root, 'probe');
    await mkdir(probeDir, { recursive: true });
    const probes = Math.min(300, workload.count);
    const syncedMs = syncedWriteMs(probeDir, Math.round(workload.totalBytes / workload.count), probes);
    await rm(probeDir, { recursive: true, force: true });
    verdicts.push(
      `${workload.name}: storescp takes ${fmt((ref.seconds / workload.count) * 1000, 2)} ms per instance in all; creating, writing, fdatasyncing and closing one file of that size takes ${fmt(syncedMs, 2)} ms on this disk (median of ${probes}).`,
    );
    verdicts.push(
      `${workload.name}: ingest ${fmt(ref.seconds / ours.seconds, 2)}× (goal ≥ 0.9; ${fmt(ref.seconds / oursNoSync.seconds, 2)}× with fsync off; whole hub ${fmt(ref.seconds / whole.seconds, 2)}×, Orthanc ${fmt(ref.seconds / orthanc.seconds, 2)}×), send ${fmt(ref.seconds / sent.seconds, 2)}× (goal ≥ 0.8), hub SCP peak RSS ${fmt(ours.receiverRssMiB)} MiB, hub SCU peak RSS ${fmt(sent.senderRssMiB)} MiB (goal < 150).`,
    );
  }
  const markdown = `## DICOM C-STORE (hub SCP and SCU vs dcmtk ${'3.6.7'})

Command: \`npm run bench -- dicom\` · ${machineLine()}

One association per row, instances generated in a temp dir (explicit VR LE CT, native pixel data), loopback,
\`TCP_NODELAY=1\` for dcmtk. storescp runs with \`+B\` (store as received, the hub SCP's job); the hub SCP also
fsyncs every file before answering, storescp does not. Medians of ${rounds} rounds; RSS is the peak (VmHWM) of
that process alone: receiver = storescp or the hub SCP child, sender = storescu or the hub SCU child. Times
are storescu's whole run; for the hub SCU, the sendFiles() call inside its process (the hub starts Node once,
not per send; Node 24 with type stripping needs ~0.2 s and ~85 MiB before any DICOM work).

| path | instances | inst/s | MB/s | vs reference | receiver RSS MiB | sender RSS MiB |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
${lines.join('\n')}

${verdicts.map((line) => `- ${line}`).join('\n')}

Rows: "hub SCP" is the SCP alone (bench/dicom/scp-child.ts: stream to a temp file, fdatasync, rename, fsync the
folder, answer); "whole hub" is \`node hub.ts\` with a facility for the calling AE, so each instance also gets
its study index record, the study touch and the exam match (one commit and fdatasync of the embedded store) and
is moved into its study folder (dicom/ingest.ts); Orthanc does the same job with its defaults (it fsyncs each
file, SyncStorageArea, and indexes it in SQLite), so it is the reference at equal durability.

Why ingest stays below the 0.9× goal: storescp answers once the data is in the page cache; the hub answers
once the file, its folder entry and its index record are on the device, as the issue and DESIGN.md require.
On this machine one fdatasync of a new 100 KB file alone takes about as long as storescp's whole
per-instance time (~0.6 ms, measured with a loop of write + fdatasync + close in Node, the syscalls the SCP
makes), and a single association has one instance in flight (storescu waits for each response), so nothing
can be batched: the fsync-off row shows the protocol path itself is near dcmtk. For 20 MB instances the
device's write bandwidth is the bound; data is fdatasynced in the background every 8 MB while it streams, so
only the tail waits. The SCP's peak RSS is flat in instance size: ~86 MiB is Node 24 with type stripping at
idle, the rest is 64 KiB socket read buffers waiting for V8's external-memory GC. The whole hub's RSS
includes the rest of the hub (store, channel engine, HTTP).
`;
  console.log(markdown);
  await writeSection('dicom', markdown);
} finally {
  await rm(root, { recursive: true, force: true });
}
