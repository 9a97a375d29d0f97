// How long a FHIR request that signs a report waits for its PDF: POST DiagnosticReport final (rendered and stored
// before the state change is written) beside the same POST as a draft (status partial, no PDF), one request at a
// time on an embedded store, medians of alternating rounds. `node bench/reports/fhir-sign.ts`.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import { ReportPdfPool } from '../../documents/report-pdf-pool.ts';
import { ExamService } from '../../exams/service.ts';
import { createFhirRouter } from '../../fhir/router.ts';
import { hashToken, TokenAuthenticator } from '../../http/auth.ts';
import { createLogger } from '../../runtime/log.ts';
import { openStore } from '../../store/open.ts';
import { machineLine, percentile, writeSection } from '../report.ts';

const perRound = Number(process.env['BENCH_SIGN_REQUESTS'] ?? 60);
const rounds = 3;
const base = createLogger({ bench: 'reports' });
const log = { ...base, debug: () => {}, info: () => {}, child: () => log };

const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-bench-sign-'));
const store = await openStore({ dataDir: dir, log });
const exams = new ExamService(store.db, { log, dataDir: dir });
await exams.start();
await exams.facilities.loadDir(path.join(import.meta.dirname, '..', '..', 'config', 'facilities'));
// As the hub wires it (composition/reports.ts): the PDF on a thread of its own.
const pdf = new ReportPdfPool({ threads: 1, maxQueued: 64 });
pdf.start();
exams.reports.renderWith(pdf.render);
const auth = new TokenAuthenticator([{ name: 'bench', sha256: hashToken('bench'), roles: ['integration'] }]);
const app = new Koa();
app.use(createFhirRouter({ exams, auth, log, preloadDefinitions: true }).routes());
const server = app.listen({ host: '127.0.0.1', port: 0 });
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir/R4/DiagnosticReport`;

let n = 0;
async function post(status: 'partial' | 'final'): Promise<number> {
  const exam = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: { identifiers: [{ system: 'urn:bench', value: `P${n++}` }], name: { family: 'Müller', given: ['Zoë'] } },
      identifiers: [{ kind: 'placer', value: `B${n}` }],
      procedure: { code: 'CTHEAD', text: 'CT head' },
    },
    { actor: 'bench', via: 'bench' },
  );
  const body = JSON.stringify({
    resourceType: 'DiagnosticReport',
    status,
    basedOn: [{ reference: `ServiceRequest/${exam.examNumber}` }],
    code: { text: 'CT head' },
    resultsInterpreter: [{ reference: 'Practitioner/rad-chen' }],
    conclusion: 'No acute intracranial abnormality.',
  });
  const t0 = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: { authorization: 'Bearer bench', 'content-type': 'application/fhir+json' },
  });
  await response.arrayBuffer();
  if (response.status !== 201) throw new Error(`${status}: ${response.status}`);
  return performance.now() - t0;
}

const times: Record<'partial' | 'final', number[][]> = { partial: [], final: [] };
await post('partial');
await post('final');
for (let round = 0; round < rounds; round++) {
  for (const status of round % 2 === 0 ? (['partial', 'final'] as const) : (['final', 'partial'] as const)) {
    const durations: number[] = [];
    for (let i = 0; i < perRound; i++) durations.push(await post(status));
    times[status].push(durations);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const row = (name: string, status: 'partial' | 'final') =>
  `| ${name} | ${median(times[status].map((d) => percentile(d, 50))).toFixed(1)} | ${median(times[status].map((d) => percentile(d, 99))).toFixed(1)} |`;
const markdown = `## Signing a report over FHIR (\`node bench/reports/fhir-sign.ts\`)

${machineLine()}. ${perRound} POST DiagnosticReport per round, one at a time, ${rounds} rounds alternating, medians; load average ${os.loadavg()[0]!.toFixed(1)}.

| request | p50 ms | p99 ms |
| --- | --- | --- |
${row('draft (status partial): no PDF', 'partial')}
${row('final: the PDF rendered (on the PDF thread) and stored (fsync) before the report is written', 'final')}
`;
console.log(markdown);
await writeSection('reports-fhir-sign', markdown);
server.close();
await exams.stop();
await pdf.stop();
await store.close();
await rm(dir, { recursive: true, force: true });
