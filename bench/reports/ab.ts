// A/B of the report post against a ServiceRequest create, two checkouts side by side in one run:
// `node bench/reports/ab.ts <baseline checkout>` starts the real hub of each (embedded store, the channel
// reports-to-ehr's HL7 destination to an MLLP receiver in another process, as run.ts does) and alternates rounds
// between them: per round and hub, a batch of ServiceRequest creates, then a final DiagnosticReport on each of
// those exams, 16 in flight. Printed: per hub, median over rounds of reports/s, creates/s and their ratio, and the
// hub's CPU time (all threads, and its main thread) per create and per report, which a busy machine disturbs less
// than the rates. With AB_WRITE=1 the table goes into BENCHMARKS.md (section reports-ab).
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { stopHub, type HubProcess } from '../../test/support/hub-process.ts';
import { machineLine, procCpu, writeSection } from '../report.ts';
import { benchPatient, finalReport, reportsHub, serviceRequest } from './workload.ts';

const baseline = process.argv[2];
if (baseline === undefined) throw new Error('usage: node bench/reports/ab.ts <baseline checkout>');
const rounds = Number(process.env['AB_ROUNDS'] ?? 5);
const perRound = Number(process.env['AB_PER_ROUND'] ?? 300);
const concurrency = 16;
const token = 'bench-reports-token';

const ehr = spawn(process.execPath, [path.join(import.meta.dirname, 'ehr-child.ts')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ehrPort = await new Promise<number>((resolve) => {
  createInterface({ input: ehr.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as { port?: number };
    if (message.port !== undefined) resolve(message.port);
  });
});

async function post(hub: HubProcess, resource: string, body: unknown): Promise<{ status: number; id?: string }> {
  const response = await fetch(hub.url(`/fhir/R4/${resource}`), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { id?: string };
  return answer.id === undefined ? { status: response.status } : { status: response.status, id: answer.id };
}

/** The hub's CPU time so far (all its threads, or one), in ms. */
async function cpuMs(hub: HubProcess, thread?: string): Promise<number> {
  return (await procCpu(hub.child.pid!, thread)).cpuMs;
}

async function batch(hub: HubProcess, resource: string, count: number, body: (i: number) => unknown) {
  const cpuBefore = await cpuMs(hub);
  const mainBefore = await cpuMs(hub, String(hub.child.pid));
  const ids: Array<string | undefined> = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const result = await post(hub, resource, body(i));
        if (result.status !== 201) failed++;
        ids[i] = result.id;
      }
    }),
  );
  if (failed > 0) throw new Error(`${resource}: ${failed} of ${count} not created`);
  return {
    ids,
    perSecond: count / ((performance.now() - started) / 1000),
    cpuMs: ((await cpuMs(hub)) - cpuBefore) / count,
    mainMs: ((await cpuMs(hub, String(hub.child.pid))) - mainBefore) / count,
  };
}

async function patientOf(hub: HubProcess): Promise<string> {
  const patient = await post(hub, 'Patient', benchPatient);
  if (patient.id === undefined) throw new Error(`Patient create answered ${patient.status}`);
  return patient.id;
}

const hubs = [
  { name: 'A (baseline)', hub: await reportsHub(ehrPort, token, { root: path.resolve(baseline) }) },
  { name: 'B (this checkout)', hub: await reportsHub(ehrPort, token) },
].map((h) => ({
  ...h,
  creates: [] as number[],
  reports: [] as number[],
  ratios: [] as number[],
  cpuCreate: [] as number[],
  cpuReport: [] as number[],
  mainCreate: [] as number[],
  mainReport: [] as number[],
  patient: '',
}));
for (const h of hubs) h.patient = await patientOf(h.hub);

async function round(h: (typeof hubs)[number], name: string, count: number, keep: boolean) {
  const creates = await batch(h.hub, 'ServiceRequest', count, (i) => serviceRequest(h.patient, `${name}-${i}`));
  const reports = await batch(h.hub, 'DiagnosticReport', count, (i) => finalReport(creates.ids[i] ?? 'unknown'));
  if (!keep) return;
  h.creates.push(creates.perSecond);
  h.reports.push(reports.perSecond);
  h.ratios.push(creates.perSecond / reports.perSecond);
  h.cpuCreate.push(creates.cpuMs);
  h.cpuReport.push(reports.cpuMs);
  h.mainCreate.push(creates.mainMs);
  h.mainReport.push(reports.mainMs);
}

for (const h of hubs) await round(h, 'WARM', 100, false);
for (let r = 0; r < rounds; r++) {
  // Alternating which goes first, so neither always runs on the machine the other just left.
  const order = r % 2 === 0 ? hubs : [...hubs].reverse();
  for (const h of order) await round(h, `R${r}`, perRound, true);
}
const load = os.loadavg()[0]!;
for (const h of hubs) await stopHub(h.hub);
ehr.kill('SIGTERM');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const label = process.env['AB_LABEL'] ?? 'B: this checkout';
const row = (h: (typeof hubs)[number], name: string) =>
  `| ${name} | ${median(h.creates).toFixed(0)} | ${median(h.reports).toFixed(0)} | ${median(h.ratios).toFixed(2)}× ` +
  `(${h.ratios.map((r) => r.toFixed(2)).join(', ')}) | ${median(h.cpuCreate).toFixed(2)} / ${median(h.cpuReport).toFixed(2)} ` +
  `| ${median(h.mainCreate).toFixed(2)} / ${median(h.mainReport).toFixed(2)} |`;
const markdown = `## Reports A/B: the report post against a ServiceRequest create, two checkouts in one run

Command: \`node bench/reports/ab.ts <baseline checkout>\` (AB_ROUNDS=${rounds}, AB_PER_ROUND=${perRound}) · ${machineLine()} ·
load average ${load.toFixed(1)} at the end (the machine is shared)

Two real hubs (embedded store, the HL7 report destination to an MLLP receiver in another process), rounds alternating
between them: ${perRound} ServiceRequest creates, then a final DiagnosticReport on each of those exams, ${concurrency} in flight.
Medians of ${rounds} rounds; CPU is the hub's, read from /proc (all threads, and the main thread alone), per request.

| hub | creates/s | reports/s | cost of a report in creates (rounds) | CPU ms per create / report | main thread ms per create / report |
| --- | ---: | ---: | --- | ---: | ---: |
${row(hubs[0]!, `A: ${process.env['AB_BASELINE_LABEL'] ?? baseline}`)}
${row(hubs[1]!, label)}
`;
console.log(markdown);
if (process.env['AB_WRITE'] === '1') await writeSection('reports-ab', markdown);
