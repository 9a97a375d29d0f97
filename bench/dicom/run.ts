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
import { mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { busyMs, machineLine, machineTicks, processTree, procCpu, writeSection } from '../report.ts';
import { valleyFacility } from '../../test/hub/dicom-support.ts';
import { defaultTestConfig, startHub, waitHealthy } from '../../test/support/hub-process.ts';
import { answeringPids } from '../../test/support/workers.ts';
import { spec, writeInstance } from '../../test/dicom/make-instance.ts';
import { dcmtkEnv, startOrthanc, startStorescp, stopChild, waitForPort } from '../../test/dicom/peers.ts';

const here = import.meta.dirname;
const node = process.execPath;
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
/**
 * An older checkout (e.g. `git archive main | tar -x -C /tmp/base`, with node_modules linked) whose hub SCP and
 * whole hub run beside this one's in the same rounds: the A/B of a change, measured under the same load.
 */
const baseline = process.env['BENCH_BASELINE'];
/** Concurrent associations of the "several modalities" rows. */
const modalities = 4;

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
  /** CPU of the receiver (its process and those it started, all threads) while the senders sent, ms. */
  receiverCpuMs: number;
  /** Busy CPU of the whole machine (both cores) over the same window, ms: senders, receiver and the rest. */
  machineCpuMs: number;
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
  // A supervisor of hub.workers holds little itself: its workers' peaks are the hub's.
  let sum = 0;
  for (const each of await processTree(pid)) {
    const match = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${each}/status`, 'utf8'));
    sum += match === null ? NaN : Number(match[1]) / 1024;
  }
  return sum;
}

/** CPU so far of a process and of the processes it started that are still running, all threads, ms. */
async function treeCpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  let sum = 0;
  for (const each of await processTree(pid)) sum += (await procCpu(each)).cpuMs;
  return sum;
}

/**
 * Writes every dirty page of the machine out (sync(1)) before a path is timed. storescp and the diagnostic rows
 * leave hundreds of MB in the page cache unwritten; on ext4 (data=ordered) the next fdatasync's journal commit
 * waits for such data, so without this a durable row pays for the row before it.
 */
async function flushDirtyPages(): Promise<void> {
  const child = spawn('sync', [], { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`sync exited ${code}`);
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

async function startHubScp(dir: string, sync: 'sync' | 'nosync' = 'sync', root?: string): Promise<Receiver> {
  const script =
    root === undefined ? path.join(here, 'scp-child.ts') : path.join(root, 'bench', 'dicom', 'scp-child.ts');
  const child = spawn(node, [script, dir, sync], { stdio: ['ignore', 'pipe', 'inherit'] });
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
async function startWholeHub(dir: string, root?: string, workers = 1): Promise<Receiver> {
  const config = defaultTestConfig.replace('logLevel: info', 'logLevel: warn');
  const hub = await startHub({
    ...(root === undefined ? {} : { root }),
    dataDir: dir,
    facilities: [await valleyFacility({ aeTitles: ['BENCH'] })],
    config: workers === 1 ? config : `${config}hub:\n  workers: ${workers}\n`,
  });
  await waitHealthy(hub, 180_000);
  if (workers > 1) await answeringPids(hub, workers);
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

/** One storescu per workload, all at once (modalities sending together); the time is until the last is done. */
async function storescuTogether(
  receiver: Receiver,
  workloads: Workload[],
): Promise<{ seconds: number; rssMiB: number }> {
  const started = performance.now();
  const runs = await Promise.all(workloads.map((workload) => storescu(receiver, workload)));
  return { seconds: (performance.now() - started) / 1000, rssMiB: Math.max(...runs.map((run) => run.rssMiB)) };
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
  workload: { count: number },
  send: (receiver: Receiver) => Promise<{ seconds: number; rssMiB: number }>,
): Promise<Run> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const receiver = await start(dir);
  try {
    await flushDirtyPages();
    const cpuBefore = await treeCpuMs(receiver.child.pid);
    const machineBefore = await machineTicks();
    const sent = await send(receiver);
    const machineCpuMs = busyMs(machineBefore, await machineTicks());
    const receiverCpuMs = (await treeCpuMs(receiver.child.pid)) - cpuBefore;
    const receiverRssMiB = await vmHwmMiB(receiver.child.pid);
    const stored = receiver.stored
      ? await receiver.stored()
      : (await readdir(dir)).filter((name) => name.endsWith('.dcm') || name.startsWith('CT.')).length;
    if (stored !== workload.count) throw new Error(`${dir}: ${stored} instances stored, expected ${workload.count}`);
    return { seconds: sent.seconds, receiverRssMiB, senderRssMiB: sent.rssMiB, receiverCpuMs, machineCpuMs };
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
    receiverCpuMs: median(runs.map((run) => run.receiverCpuMs)),
    machineCpuMs: median(runs.map((run) => run.machineCpuMs)),
  };
}

const fmt = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function row(path: string, workload: Workload, run: Run, reference: Run): string {
  const perSecond = workload.count / run.seconds;
  const mbPerSecond = workload.totalBytes / run.seconds / 1e6;
  const ratio = reference.seconds / run.seconds;
  return `| ${path} | ${workload.name} | ${fmt(perSecond, 1)} | ${fmt(mbPerSecond, 1)} | ${fmt(ratio, 2)}× | ${fmt(run.receiverRssMiB)} | ${fmt(run.senderRssMiB)} | ${fmt(run.receiverCpuMs / workload.count, 2)} | ${fmt(run.machineCpuMs / workload.count, 2)} |`;
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

/**
 * The same price with `writers` files in flight at once, as `writers` durable associations put them on the
 * device: each writer creates, writes, fdatasyncs and closes `perWriter` files one after another, all writers
 * together (on libuv's pool, four threads by default). Returns milliseconds per file of one writer, so an
 * association's instance waits at least that long on top of receiving it.
 */
async function concurrentSyncedWriteMs(
  dir: string,
  bytes: number,
  writers: number,
  perWriter: number,
): Promise<number> {
  const data = Buffer.alloc(bytes, 0x5a);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let i = 0; i < perWriter; i++) {
        const file = await open(path.join(dir, `probe-${writer}-${i}.bin`), 'wx');
        await file.write(data);
        await file.datasync();
        await file.close();
      }
    }),
  );
  return (performance.now() - started) / perWriter;
}

/** Runs every path of `paths` once per round, in turn, so machine noise hits them alike; medians per path. */
async function interleaved(
  label: string,
  paths: Array<{ name: string; run: () => Promise<Run> }>,
): Promise<Map<string, Run>> {
  const runs = new Map<string, Run[]>(paths.map((entry) => [entry.name, []]));
  for (let round = 0; round < rounds; round++) {
    const times: string[] = [];
    for (const entry of paths) {
      const run = await entry.run();
      runs.get(entry.name)?.push(run);
      times.push(`${entry.name} ${run.seconds.toFixed(2)} s`);
    }
    console.log(`${label} round ${round + 1}: ${times.join(', ')}`);
  }
  return new Map([...runs].map(([name, list]) => [name, summarise(list)]));
}

function must(results: Map<string, Run>, name: string): Run {
  const run = results.get(name);
  if (run === undefined) throw new Error(`no runs of ${name}`);
  return run;
}

const names = {
  storescp: 'storescu -> storescp (reference)',
  scp: 'storescu -> **hub SCP**',
  scpBefore: 'storescu -> hub SCP, before this change (A/B)',
  scpNoSync: 'storescu -> hub SCP, fsync off (diagnostic)',
  dcmjs: 'storescu -> dcmjs-dimse Scp subclass, streamed, no fsync',
  whole: 'storescu -> **whole hub** (SCP, study index, exam match; `node hub.ts`)',
  wholeBefore: 'storescu -> whole hub, before this change (A/B)',
  wholeTwo: 'storescu -> whole hub, `hub.workers: 2` (two processes, one store)',
  orthanc: 'storescu -> Orthanc (same durability: fsync per file, SQLite index)',
  scu: '**hub SCU** -> storescp',
} as const;

const loadBefore = fmt(os.loadavg()[0] ?? NaN, 1);
const root = await mkdtemp(path.join(os.tmpdir(), 'rso-bench-dicom-'));
try {
  console.log('generating instances…');
  const workloads = [
    await makeWorkload(root, '500 × 100 KB', 500, 100 * 1024),
    await makeWorkload(root, '20 × 20 MB', 20, 20 * 1024 * 1024),
  ];
  const lines: string[] = [];
  const verdicts: string[] = [];
  const ingestInto = (start: (dir: string) => Promise<Receiver>, folder: string, workload: Workload) => () =>
    withReceiver(start, path.join(root, folder), workload, (receiver) => storescu(receiver, workload));
  for (const workload of workloads) {
    const listFile = path.join(root, 'files.txt');
    const paths = [
      { name: names.storescp, run: ingestInto(startStorescpReceiver, 'in-storescp', workload) },
      { name: names.scp, run: ingestInto((dir) => startHubScp(dir), 'in-hub', workload) },
      ...(baseline === undefined
        ? []
        : [
            { name: names.scpBefore, run: ingestInto((dir) => startHubScp(dir, 'sync', baseline), 'in-hub', workload) },
          ]),
      { name: names.scpNoSync, run: ingestInto((dir) => startHubScp(dir, 'nosync'), 'in-hub', workload) },
      { name: names.dcmjs, run: ingestInto(startDcmjsScp, 'in-dcmjs', workload) },
      { name: names.whole, run: ingestInto((dir) => startWholeHub(dir), 'in-whole-hub', workload) },
      ...(baseline === undefined
        ? []
        : [
            {
              name: names.wholeBefore,
              run: ingestInto((dir) => startWholeHub(dir, baseline), 'in-whole-hub', workload),
            },
          ]),
      { name: names.orthanc, run: ingestInto(startOrthancReceiver, 'in-orthanc', workload) },
      {
        name: names.scu,
        run: () =>
          withReceiver(startStorescpReceiver, path.join(root, 'in-storescp'), workload, (receiver) =>
            hubScu(receiver, workload, listFile),
          ),
      },
    ];
    const results = await interleaved(workload.name, paths);
    const ref = must(results, names.storescp);
    for (const entry of paths) lines.push(row(entry.name, workload, must(results, entry.name), ref));
    const ours = must(results, names.scp);
    const whole = must(results, names.whole);
    const orthanc = must(results, names.orthanc);
    const sent = must(results, names.scu);
    const probeDir = path.join(root, 'probe');
    await mkdir(probeDir, { recursive: true });
    const probes = Math.min(300, workload.count);
    await flushDirtyPages();
    const syncedMs = syncedWriteMs(probeDir, Math.round(workload.totalBytes / workload.count), probes);
    await rm(probeDir, { recursive: true, force: true });
    const storescpMs = (ref.seconds / workload.count) * 1000;
    const boundMs = storescpMs + syncedMs;
    const boundRate = 1000 / boundMs;
    const rate = (run: Run): number => workload.count / run.seconds;
    verdicts.push(
      `${workload.name}: storescp takes ${fmt(storescpMs, 2)} ms per instance in all; creating, writing, fdatasyncing and closing one file of that size takes ${fmt(syncedMs, 2)} ms on this disk (median of ${probes}), so a durable SCP on one association is bound at ${fmt(boundMs, 2)} ms per instance, **${fmt(boundRate, 1)} inst/s**.`,
    );
    const before =
      baseline === undefined
        ? ''
        : ` A/B: hub SCP ${fmt(must(results, names.scpBefore).seconds / ours.seconds, 2)}× and whole hub ${fmt(must(results, names.wholeBefore).seconds / whole.seconds, 2)}× the rate of the code before this change.`;
    verdicts.push(
      `${workload.name}: hub SCP alone ${fmt(rate(ours) / boundRate, 2)}× the durable bound (goal ≥ 0.9), whole hub ${fmt(ours.seconds / whole.seconds, 2)}× the SCP alone (goal ≥ 0.9) and ${fmt(orthanc.seconds / whole.seconds, 2)}× Orthanc (goal ≥ 2); send ${fmt(ref.seconds / sent.seconds, 2)}× storescu; peak RSS hub SCP ${fmt(ours.receiverRssMiB)} MiB, whole hub ${fmt(whole.receiverRssMiB)} MiB, hub SCU ${fmt(sent.senderRssMiB)} MiB.${before}`,
    );
  }

  const concurrentLines: string[] = [];
  const concurrentVerdicts: string[] = [];
  const concurrent = [
    await Promise.all(
      Array.from({ length: modalities }, (_, i) => makeWorkload(root, `m${i} 250 × 100 KB`, 250, 100 * 1024)),
    ),
    await Promise.all(
      Array.from({ length: modalities }, (_, i) => makeWorkload(root, `m${i} 10 × 20 MB`, 10, 20 * 1024 * 1024)),
    ),
  ];
  for (const group of concurrent) {
    const first = group[0];
    if (first === undefined) continue;
    const all: Workload = {
      name: `${modalities} × ${first.count} × ${first.pixelBytes >= 2 ** 20 ? '20 MB' : '100 KB'}`,
      count: group.reduce((sum, workload) => sum + workload.count, 0),
      pixelBytes: first.pixelBytes,
      files: [],
      totalBytes: group.reduce((sum, workload) => sum + workload.totalBytes, 0),
    };
    const together = (start: (dir: string) => Promise<Receiver>, folder: string) => () =>
      withReceiver(start, path.join(root, folder), all, (receiver) => storescuTogether(receiver, group));
    const paths = [
      { name: names.storescp, run: together(startStorescpReceiver, 'in-storescp') },
      { name: names.whole, run: together((dir) => startWholeHub(dir), 'in-whole-hub') },
      { name: names.wholeTwo, run: together((dir) => startWholeHub(dir, undefined, 2), 'in-whole-hub') },
      ...(baseline === undefined
        ? []
        : [{ name: names.wholeBefore, run: together((dir) => startWholeHub(dir, baseline), 'in-whole-hub') }]),
      { name: names.orthanc, run: together(startOrthancReceiver, 'in-orthanc') },
    ];
    const results = await interleaved(all.name, paths);
    const ref = must(results, names.storescp);
    for (const entry of paths) concurrentLines.push(row(entry.name, all, must(results, entry.name), ref));
    const whole = must(results, names.whole);
    const orthanc = must(results, names.orthanc);
    const before =
      baseline === undefined
        ? ''
        : ` A/B: ${fmt(must(results, names.wholeBefore).seconds / whole.seconds, 2)}× the rate of the code before this change.`;
    const two = must(results, names.wholeTwo);
    // Two durable bounds with `modalities` associations. A receiver that answers after the sync starts an
    // association's next instance only after the answer: if it receives an instance and then syncs it, each
    // association's cycle is at least the time to receive one (storescp's time per instance: without --fork it
    // serves one association at a time) plus a synced write with as many others in flight. One that overlapped
    // receiving with writing entirely would still get no more files through the device than the probe's
    // writers, which do nothing else.
    const probeDir = path.join(root, 'probe');
    await mkdir(probeDir, { recursive: true });
    const perWriter = first.pixelBytes >= 2 ** 20 ? 5 : 75;
    await flushDirtyPages();
    const syncedMs = await concurrentSyncedWriteMs(
      probeDir,
      Math.round(all.totalBytes / all.count),
      modalities,
      perWriter,
    );
    await rm(probeDir, { recursive: true, force: true });
    const storescpMs = (ref.seconds / all.count) * 1000;
    const boundRate = (modalities * 1000) / (storescpMs + syncedMs);
    const deviceRate = (modalities * 1000) / syncedMs;
    const orthancRate = all.count / orthanc.seconds;
    const wholeRate = all.count / whole.seconds;
    concurrentVerdicts.push(
      `${all.name}: storescp receives an instance in ${fmt(storescpMs, 2)} ms (one association at a time); with ${modalities} files in flight, creating, writing, fdatasyncing and closing one takes ${fmt(syncedMs, 2)} ms of a writer's time (${modalities} writers × ${perWriter} files), so a durable receiver of ${modalities} associations that receives an instance and then syncs it is bound at **${fmt(boundRate, 1)} inst/s**, and one that overlapped the two entirely at **${fmt(deviceRate, 1)} inst/s** (the device's). Whole hub ${fmt(wholeRate / boundRate, 2)}× the first; the goals ask ${first.pixelBytes < 2 ** 20 ? `${fmt((0.7 * all.count) / ref.seconds / boundRate, 2)}× it (0.7× storescp) and ` : ''}${fmt((3 * orthancRate) / boundRate, 2)}× it (3× Orthanc), ${fmt((3 * orthancRate) / deviceRate, 2)}× the device's${3 * orthancRate > deviceRate ? ': above what any receiver that answers after the sync can reach on this disk, in this run' : ''}. CPU: the whole hub took ${fmt(whole.receiverCpuMs / all.count, 2)} ms an instance (Orthanc ${fmt(orthanc.receiverCpuMs / all.count, 2)}, storescp ${fmt(ref.receiverCpuMs / all.count, 2)}), and the machine ${fmt(whole.machineCpuMs / all.count, 2)} ms with the senders: at that cost its ${os.availableParallelism()} cores allow at most ${fmt((os.availableParallelism() * 1000 * all.count) / whole.machineCpuMs, 0)} inst/s; 3× Orthanc (${fmt(3 * orthancRate, 1)} inst/s, ${fmt((3 * orthancRate * ref.seconds) / all.count, 2)}× storescp's aggregate rate) leaves ${fmt((os.availableParallelism() * 1000) / (3 * orthancRate), 2)} ms of the machine an instance, where storescp with the same senders took ${fmt(ref.machineCpuMs / all.count, 2)}.`,
    );
    concurrentVerdicts.push(
      `${all.name}: whole hub ${fmt(ref.seconds / whole.seconds, 2)}× storescp's aggregate rate${first.pixelBytes < 2 ** 20 ? ' (goal ≥ 0.7)' : ''} and ${fmt(orthanc.seconds / whole.seconds, 2)}× Orthanc's (goal ≥ 3); whole hub peak RSS ${fmt(whole.receiverRssMiB)} MiB; \`hub.workers: 2\` ${fmt(whole.seconds / two.seconds, 2)}× one process (goal ≥ 1.4, issue 18), peak RSS of both ${fmt(two.receiverRssMiB)} MiB.${before}`,
    );
  }
  const markdown = `## DICOM C-STORE (hub SCP and SCU vs dcmtk ${'3.6.7'})

Command: \`${baseline === undefined ? '' : 'BENCH_BASELINE=<checkout of the code before> '}${rounds === 5 ? '' : `BENCH_ROUNDS=${rounds} `}npm run bench -- dicom\` · ${machineLine()} · load average ${loadBefore} at the start, ${fmt(os.loadavg()[0] ?? NaN, 1)} at the end (a shared machine: compare ratios of one run)

One association per row, instances generated in a temp dir (explicit VR LE CT, native pixel data), loopback,
\`TCP_NODELAY=1\` for dcmtk. storescp runs with \`+B\` (store as received, the hub SCP's job); the hub SCP also
fsyncs every file before answering, storescp does not. Medians of ${rounds} rounds, the paths taking turns within each
round; RSS is the peak (VmHWM) of that process alone: receiver = storescp or the hub SCP child, sender = storescu
or the hub SCU child. Times are storescu's whole run; for the hub SCU, the sendFiles() call inside its process
(the hub starts Node once, not per send; Node 24 with type stripping needs ~0.2 s and ~85 MiB before any DICOM
work).${baseline === undefined ? '' : ' The "before this change" rows run the hub of an older checkout (BENCH_BASELINE) in the same rounds.'}

| path | instances | inst/s | MB/s | vs reference | receiver RSS MiB | sender RSS MiB | receiver CPU ms/inst | machine CPU ms/inst |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${lines.join('\n')}

${verdicts.map((line) => `- ${line}`).join('\n')}

Several modalities at once: ${modalities} storescu processes start together, each with its own study, into one
receiver; the time is until the last one is done, the rate is the aggregate, sender RSS is the largest storescu.
The \`hub.workers: 2\` row is the whole hub as a supervisor and two hub processes sharing the DICOM port
(SO_REUSEPORT: the kernel deals the associations out) and the one embedded store; its RSS is the sum of their peaks.

| path | instances | inst/s | MB/s | vs reference | receiver RSS MiB | sender RSS MiB | receiver CPU ms/inst | machine CPU ms/inst |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${concurrentLines.join('\n')}

${concurrentVerdicts.map((line) => `- ${line}`).join('\n')}

CPU columns: the receiver's CPU while the senders sent (its process and those it started, all threads, user +
system) and the whole machine's busy CPU over the same window (senders, receiver, the kernel's writeback and
anything else running; the hypervisor's steal time left out), per instance.

Rows: "hub SCP" is the SCP alone (bench/dicom/scp-child.ts: stream to a temp file, link it under its final
name, then its fdatasync and the folder's fsync together, answer); "whole hub" is \`node hub.ts\` with a
facility for the calling AE, so each instance also gets its study index record, the study touch and the exam
match (one commit and fdatasync of the embedded store) and is moved into its study folder (dicom/ingest.ts);
Orthanc does the same job with its defaults (it fsyncs each file, SyncStorageArea, and indexes it in SQLite),
so it is the reference at equal durability.

What an instance waits for: the hub answers once the file's data, its folder entry and its index record are on
the device (DESIGN.md), storescp once the data are in the page cache. The three syncs are started together
(dicom/incoming-instance.ts hands the file over while its fdatasync runs; dicom/ingest.ts moves a new instance at
once and awaits the data, the folder and the store commit together), so an instance waits for one sync round,
not two. A new name is given before the data are synced; nothing is acknowledged until they are, and a crash
in between leaves at worst a short file, which the duplicate check (size against the record) does not take for
the instance, so the resend stores it again; a copy of a known instance replaces the old file only after its
own data are synced. On one association one instance is in flight (storescu waits for each answer), so the
durable bound is storescp's time plus one synced write; with several associations the store's group commit
and concurrent fdatasyncs on libuv's pool share the device's rounds. For 20 MB instances the device's write
bandwidth is the bound; data is fdatasynced in the background every 8 MB while it streams, so only the tail
waits. The SCP's peak RSS is flat in instance size: ~86 MiB is Node 24 with type stripping at idle, the rest
is 64 KiB socket read buffers waiting for V8's external-memory GC. The whole hub's RSS includes the rest of
the hub (store, channel engine, HTTP).
`;
  console.log(markdown);
  await writeSection('dicom', markdown);
} finally {
  await rm(root, { recursive: true, force: true });
}
