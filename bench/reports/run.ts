// `npm run bench -- reports` (issue 12, Benchmark): final reports posted over FHIR to the real hub (`node hub.ts`,
// embedded store), each rendered to PDF on the hub's PDF thread and delivered as ORU^R01 (PDF in OBX ED) over
// MLLP to an EHR receiver in a process of its own (ehr-child.ts). The reference, in the same run and on the same
// hub, is the FHIR ServiceRequest create that made each report's exam: rounds alternate a batch of creates with
// a batch of reports on those exams. Measured: reports/s posted against creates/s, how much was delivered when
// the senders stopped, delivered/s, final (the 201) to the receiver's ACK, the hub's peak RSS, and PDF renders/s
// alone (pdf-renders.ts). BENCH_REPORTS (default 2000) reports in all, BENCH_PDF_RENDERS (1000) per PDF row.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { stopHub } from '../../test/support/hub-process.ts';
import { machineLine, percentile, procCpu, writeSection } from '../report.ts';
import { measurePdfRenders, type PdfRow } from './pdf-renders.ts';
import { benchPatient, finalReport, reportsHub, serviceRequest } from './workload.ts';

const total = Number(process.env['BENCH_REPORTS'] ?? 2000);
const pdfRenders = Number(process.env['BENCH_PDF_RENDERS'] ?? 1000);
const rounds = 2;
const perRound = Math.ceil(total / rounds);
const concurrency = 16;
const quietReports = 50;
const pdfThreads = Number(process.env['BENCH_PDF_THREADS'] ?? 1);
const token = 'bench-reports-token';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- PDF renders alone, before the hub runs, so nothing else competes for the cores ----------------------------
const pdfRows: PdfRow[] = await measurePdfRenders(pdfRenders, 3, pdfThreads);
console.log(pdfRows);

// ---- the EHR receiver and the hub ------------------------------------------------------------------------------
const acks = new Map<string, number>();
const ehr = spawn(process.execPath, [path.join(import.meta.dirname, 'ehr-child.ts')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ehrPort = await new Promise<number>((resolve) => {
  createInterface({ input: ehr.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as { port?: number; placer?: string; at?: number };
    if (message.port !== undefined) resolve(message.port);
    else if (message.placer !== undefined && message.at !== undefined && !acks.has(message.placer))
      acks.set(message.placer, message.at);
  });
});

const hub = await reportsHub(ehrPort, token, {
  extraConfig: `scheduler:
  processEveryMs: 1000
reports:
  pdfThreads: ${pdfThreads}
`,
});
const pid = hub.child.pid!;

async function post(resource: string, body: unknown): Promise<{ status: number; id?: string; doneAt: number }> {
  const response = await fetch(hub.url(`/fhir/R4/${resource}`), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { id?: string };
  const doneAt = now();
  return answer.id === undefined
    ? { status: response.status, doneAt }
    : { status: response.status, id: answer.id, doneAt };
}

/** `count` requests, `concurrency` at a time; `body(i)` is the i-th request's resource. */
async function batch(resource: string, count: number, body: (i: number) => unknown) {
  const results: Array<{ status: number; id?: string; doneAt: number; ms: number }> = [];
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = now();
        const result = await post(resource, body(i));
        results[i] = { ...result, ms: result.doneAt - t0 };
      }
    }),
  );
  return { results, started, seconds: (now() - started) / 1000 };
}

const patient = await post('Patient', benchPatient);
if (patient.id === undefined) throw new Error(`Patient create answered ${patient.status}`);
const patientId = patient.id;

/** CPU time of each of the hub's threads so far (user + system, ms), summed by thread name. */
async function threadCpu(): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const thread = await procCpu(pid, tid).catch(() => undefined);
    if (thread === undefined) continue; // the thread ended meanwhile
    byName.set(thread.name, (byName.get(thread.name) ?? 0) + thread.cpuMs);
  }
  return byName;
}

/** What each thread name spent between two readings. */
function spent(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([name, ms]) => [name, ms - (before.get(name) ?? 0)]));
}

interface Round {
  /** CPU by thread name while the creates ran, while the reports were posted, and from then to the last ACK. */
  cpu: { creates: Map<string, number>; reports: Map<string, number>; drain: Map<string, number> };
  creates: Awaited<ReturnType<typeof batch>>;
  reports: Awaited<ReturnType<typeof batch>>;
  placers: string[];
  deliveredWhenStopped: number;
  lastAck: number;
}

/** A batch of creates (the reference), then a final report on each of their exams, then its deliveries. */
async function round(name: string, count: number): Promise<Round> {
  const placers = Array.from({ length: count }, (_, i) => `${name}-${i}`);
  const cpu0 = await threadCpu();
  const creates = await batch('ServiceRequest', count, (i) => serviceRequest(patientId, placers[i]!));
  const cpu1 = await threadCpu();
  const reports = await batch('DiagnosticReport', count, (i) => finalReport(creates.results[i]!.id ?? 'unknown'));
  const cpu2 = await threadCpu();
  const deliveredWhenStopped = placers.filter((p) => acks.has(p)).length;
  const deadline = Date.now() + 300_000;
  while (placers.some((p) => !acks.has(p)) && Date.now() < deadline) await sleep(5);
  const cpu3 = await threadCpu();
  const lastAck = Math.max(...placers.map((p) => acks.get(p) ?? 0));
  const cpu = { creates: spent(cpu0, cpu1), reports: spent(cpu1, cpu2), drain: spent(cpu2, cpu3) };
  return { cpu, creates, reports, placers, deliveredWhenStopped, lastAck };
}

async function peakRssMiB(): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

await round('WARM', 100);
const measured: Round[] = [];
for (let r = 0; r < rounds; r++) measured.push(await round(`BENCH${r}`, perRound));
const peak = await peakRssMiB();

/** Final-to-ACK with nothing queued ahead: one report at a time, the next posted once the last is acknowledged. */
async function oneAtATime(count: number): Promise<number[]> {
  const placers = Array.from({ length: count }, (_, i) => `QUIET-${i}`);
  const creates = await batch('ServiceRequest', count, (i) => serviceRequest(patientId, placers[i]!));
  const latencies: number[] = [];
  for (const [i, placer] of placers.entries()) {
    const posted = await post('DiagnosticReport', finalReport(creates.results[i]!.id ?? 'unknown'));
    const deadline = Date.now() + 60_000;
    while (!acks.has(placer) && Date.now() < deadline) await sleep(1);
    const ack = acks.get(placer);
    if (ack !== undefined) latencies.push(ack - posted.doneAt);
  }
  return latencies;
}
const quiet = await oneAtATime(quietReports);
const load = os.loadavg()[0]!;
await stopHub(hub);
ehr.kill('SIGTERM');

// ---- figures ---------------------------------------------------------------------------------------------------
const all = <K extends 'creates' | 'reports'>(key: K) => measured.flatMap((m) => m[key].results);
const rate = (key: 'creates' | 'reports') =>
  measured.reduce((n, m) => n + m[key].results.length, 0) / measured.reduce((s, m) => s + m[key].seconds, 0);
const statuses = (key: 'creates' | 'reports') =>
  Object.entries(
    all(key).reduce<Record<number, number>>((acc, r) => {
      acc[r.status] = (acc[r.status] ?? 0) + 1;
      return acc;
    }, {}),
  )
    .map(([status, n]) => `${n}×${status}`)
    .join(' ');
const finalToAck = measured.flatMap((m) =>
  m.placers.flatMap((p, i) => {
    const ack = acks.get(p);
    return ack === undefined ? [] : [ack - m.reports.results[i]!.doneAt];
  }),
);
const delivered = measured.reduce((n, m) => n + m.placers.filter((p) => acks.has(p)).length, 0);
const deliveredWhenStopped = measured.reduce((n, m) => n + m.deliveredWhenStopped, 0);
const deliverySeconds = measured.reduce((s, m) => s + (m.lastAck - m.reports.started) / 1000, 0);
const reportRate = rate('reports');
const createRate = rate('creates');
const cost = createRate / reportRate;
const stoppedShare = (100 * deliveredWhenStopped) / (perRound * rounds);
const p99Ack = percentile(finalToAck, 99);
const bestPdf = Math.max(...pdfRows.filter((r) => r.name.startsWith('hub')).map((r) => r.figures.perSecond));
const verdict = (met: boolean) => (met ? 'met' : '**not met**');
// CPU per request by thread, summed over the measured rounds.
const threadColumns: Array<[string, string]> = [
  ['MainThread', 'main thread'],
  ['WorkerThread', 'worker threads (validation, PDF, MLLP sender)'],
  ['libuv-worker', "libuv's pool (files, fsync)"],
  ['V8Worker', "V8's helpers (GC, compiling)"],
];
function cpuRow(label: string, phase: 'creates' | 'reports' | 'drain', per: number): { row: string; total: number } {
  const summed = new Map<string, number>();
  for (const m of measured) for (const [name, ms] of m.cpu[phase]) summed.set(name, (summed.get(name) ?? 0) + ms);
  const total = [...summed.values()].reduce((a, b) => a + b, 0) / per;
  const known = threadColumns.map(([name]) => (summed.get(name) ?? 0) / per);
  // The rest of the threads; a float sum's rounding shows as -0.00 otherwise.
  const other = Math.max(0, total - known.reduce((a, b) => a + b, 0));
  return {
    row: `| ${label} | ${[...known, other].map((v) => v.toFixed(2)).join(' | ')} | ${total.toFixed(2)} |`,
    total,
  };
}
const undeliveredWhenStopped = perRound * rounds - measured.reduce((n, m) => n + m.deliveredWhenStopped, 0);
const createCpu = cpuRow('a ServiceRequest create (per create)', 'creates', perRound * rounds);
const reportCpu = cpuRow(
  'a final report while posted (per report; delivery runs alongside)',
  'reports',
  perRound * rounds,
);
const drainCpu = cpuRow(
  'delivery after the senders stopped (per report delivered then)',
  'drain',
  Math.max(1, undeliveredWhenStopped),
);
const cores = os.availableParallelism();
const ms = (value: number) => value.toFixed(1);

const markdown = `## Reports: signing over FHIR, PDF, ORU^R01 to the EHR (issue 12)

Command: \`npm run bench -- reports\` · ${machineLine()} · load average ${load.toFixed(1)} at the end (the machine is shared)

The real hub (\`node hub.ts\`, embedded store, ${pdfThreads} PDF thread) with the channel \`reports-to-ehr\`'s HL7 destination
(ordered queue, ORU^R01 2.5.1 with the PDF in OBX ED) to an MLLP receiver in another process that answers AA.
${rounds} rounds of ${perRound}: first ${perRound} ServiceRequest creates (the reference), then a final DiagnosticReport
on each of those exams; ${concurrency} requests in flight over keep-alive HTTP. Final-to-ACK runs from the 201 of the
report's POST to the receiver writing its ACK (both clocks are the same machine's).

| request | per second | p50 ms | p99 ms | answers |
| --- | ---: | ---: | ---: | --- |
| reference: POST ServiceRequest (validated, exam stored with its event) | ${createRate.toFixed(0)} | ${ms(
  percentile(
    all('creates').map((r) => r.ms),
    50,
  ),
)} | ${ms(
  percentile(
    all('creates').map((r) => r.ms),
    99,
  ),
)} | ${statuses('creates')} |
| POST DiagnosticReport final (validated, PDF rendered and stored, report and event written) | ${reportRate.toFixed(0)} | ${ms(
  percentile(
    all('reports').map((r) => r.ms),
    50,
  ),
)} | ${ms(
  percentile(
    all('reports').map((r) => r.ms),
    99,
  ),
)} | ${statuses('reports')} |

| delivery to the EHR | figure |
| --- | ---: |
| delivered when the senders stopped | ${deliveredWhenStopped} of ${perRound * rounds} (${stoppedShare.toFixed(1)} %) |
| delivered in the end | ${delivered} of ${perRound * rounds} |
| delivered/s (first POST of a round to its last ACK) | ${(delivered / deliverySeconds).toFixed(0)} |
| final to ACK p50 / p99 ms, ${concurrency} in flight (the queue behind the posting) | ${ms(percentile(finalToAck, 50))} / ${ms(p99Ack)} |
| final to ACK p50 / p99 ms, one report at a time (${quietReports}, nothing queued ahead) | ${ms(percentile(quiet, 50))} / ${ms(percentile(quiet, 99))} |
| hub peak RSS (VmHWM, whole run) | ${peak.toFixed(0)} MiB |

PDF renders alone (${pdfRenders} one-page reports with 12 findings lines per row and round, 3 rounds alternating, medians; in
the benchmark's own process before the hub starts):

| renderer | renders/s | p50 ms | p99 ms | KiB per PDF |
| --- | ---: | ---: | ---: | ---: |
${pdfRows.map((r) => `| ${r.name} | ${r.figures.perSecond.toFixed(0)} | ${ms(r.figures.p50)} | ${ms(r.figures.p99)} | ${r.figures.kib.toFixed(0)} |`).join('\n')}

Where the CPU goes, read from /proc for each of the hub's threads (user + system, ms per request, summed over the
measured rounds; "other" is the rest of the hub's threads):

| phase | ${threadColumns.map(([, label]) => label).join(' | ')} | other | all |
| --- | ${threadColumns.map(() => '---:').join(' | ')} | ---: | ---: |
${createCpu.row}
${reportCpu.row}
${drainCpu.row}

A report with its delivery takes ${(reportCpu.total + (drainCpu.total * undeliveredWhenStopped) / (perRound * rounds)).toFixed(2)} ms of CPU here, ${((reportCpu.total + (drainCpu.total * undeliveredWhenStopped) / (perRound * rounds)) / createCpu.total).toFixed(1)}× a create's ${createCpu.total.toFixed(2)} ms. Posting at 1.5× a create's cost
while delivery keeps up would let a report and its delivery take at most ${((cores * 1000 * 1.5) / createRate).toFixed(2)} ms of this machine's ${cores} cores
(${cores} cores over ${(createRate / 1.5).toFixed(0)} reports a second).

| goal (issue 12) | figure | |
| --- | --- | --- |
| posting a report costs ≤ 1.5× a ServiceRequest create | ${cost.toFixed(2)}× | ${verdict(cost <= 1.5)} |
| ≥ 95 % delivered when the senders stop | ${stoppedShare.toFixed(1)} % | ${verdict(stoppedShare >= 95)} |
| PDF rendering ≥ 300/s | ${bestPdf.toFixed(0)}/s | ${verdict(bestPdf >= 300)} |
| p99 final-to-ACK < 500 ms | ${ms(p99Ack)} ms at ${concurrency} in flight; ${ms(percentile(quiet, 99))} ms one at a time | ${verdict(p99Ack < 500)} at load; ${verdict(percentile(quiet, 99) < 500)} one at a time |
`;
console.log(markdown);
await writeSection('reports', markdown);
