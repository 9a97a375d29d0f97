// `npm run bench -- footprint` (issue 16, goal 4): how much memory the whole hub (`node hub.ts`) takes for an
// ordinary day's mix, on the sample channels and facility. The load: 200 ORM over MLLP while the RIS copy's
// receiver is down (queued), then the receiver comes up and takes them all; 200 FHIR ServiceRequest creates; one
// 30-instance CT study by storescu, completed and routed to the radiologist PACS (storescp). Peak RSS is the
// kernel's high-water mark (VmHWM), so no sample can miss it; idle is the median of five samples after the work,
// once while the worker threads are still up and once after they have ended (hub.threadIdleSeconds, default 30).
// References in the same run: a bare Node process, the hub idle before any work, the same hub on its first start
// (an empty compile cache: every thread parses its libraries), and with glibc's default malloc arenas (npm start
// sets MALLOC_ARENA_MAX=2). The compile cache is a folder of this run's own, filled by the first start.
import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { MllpTestClient, MllpTestListener } from '../../test/hl7/mllp-peer.ts';
import { startStorescp } from '../../test/dicom/peers.ts';
import { dicomTestConfig, storescu, valleyFacility, writeStudy } from '../../test/hub/dicom-support.ts';
import { api, freePort, repoRoot, startHub, stopHub, tempDir, waitHealthy } from '../../test/support/hub-process.ts';
import { machineLine, writeSection } from '../report.ts';

const orders = 200;
const creates = 200;
const instances = 30;
const settleMs = 15_000;
/** The hub's default `hub.threadIdleSeconds` (config/load.ts): the worker threads end this long after the work. */
const threadIdleMs = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** The median of five RSS samples, the last `afterMs` after the call. */
async function settled(pid: number, afterMs = settleMs): Promise<number> {
  await sleep(afterMs - 5000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push((await memory(pid)).rss);
    await sleep(1000);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function json(file: string): Promise<Record<string, unknown>> {
  return readFile(path.join(repoRoot, file), 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>);
}

function order(i: number): Buffer {
  return Buffer.from(
    [
      `MSH|^~\\&|RIS|VALLEYGEN|RSO HUB|RSO|20261205093000||ORM^O01^ORM_O01|FOOT${i}|P|2.5.1`,
      `PID|1||MRN${i}^^^VALLEYGEN^MR||DOE^JOHN${i}||19700101|M`,
      `ORC|NW|PLC-F${i}|||SC`,
      `OBR|1|PLC-F${i}||71020^CHEST XRAY 2 VIEWS^C4|||20261205090000|||||||||||ACC-F${i}`,
      '',
    ].join('\r'),
    'latin1',
  );
}

function serviceRequest(i: number, patientId: string): string {
  return JSON.stringify({
    resourceType: 'ServiceRequest',
    identifier: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC' }] },
        value: `FOOT-SR-${i}`,
      },
    ],
    status: 'active',
    intent: 'order',
    code: { coding: [{ system: 'http://loinc.org', code: '24725-4', display: 'CT Head' }] },
    orderDetail: [{ coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }] }],
    subject: { reference: `Patient/${patientId}` },
    requester: { identifier: { system: 'urn:rso-hub:facility', value: 'VALLEYGEN' } },
  });
}

// Reference 1: a Node process that loads nothing.
const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
await sleep(1000);
const bareRss = (await memory(bare.pid!)).rss;
bare.kill();

interface Footprint {
  idleBefore: number;
  steps: Array<[string, number]>;
  peak: number;
  /** Idle with the worker threads still up, and after they ended. */
  idleSoon: number;
  idleAfter: number;
}

/** The load on a fresh hub; `arenas` is MALLOC_ARENA_MAX (undefined: glibc's default, one arena per thread). */
async function footprint(arenas: string | undefined, compileCache: string): Promise<Footprint> {
  const risPort = await freePort();
  const mllpPort = await freePort();
  const pacsDir = await tempDir('footprint-pacs');
  const pacs = await startStorescp(pacsDir);
  const ordersChannel = await json('config/channels/orders-mllp.json');
  const source = ordersChannel['source'] as { settings: Record<string, unknown> };
  source.settings['port'] = mllpPort;
  for (const destination of ordersChannel['destinations'] as Array<{
    connector: { settings: Record<string, unknown> };
  }>)
    if (destination.connector.settings['port'] !== undefined) destination.connector.settings['port'] = risPort;
  const studiesChannel = await json('config/channels/studies-to-pacs.json');
  const hub = await startHub({
    config: dicomTestConfig,
    // An empty value is glibc's default (0: as many arenas as threads need, up to 8 per core).
    env: { MALLOC_ARENA_MAX: arenas ?? '', NODE_COMPILE_CACHE: compileCache },
    facilities: [
      await valleyFacility({ radiologistPacs: { aeTitle: pacs.aeTitle, host: '127.0.0.1', port: pacs.port } }),
    ],
    channels: [
      { ...ordersChannel, id: 'orders-mllp' },
      { ...studiesChannel, id: 'studies-to-pacs' },
    ],
  });
  await waitHealthy(hub);
  const pid = hub.child.pid!;
  const idleBefore = await settled(pid);
  /** RSS after each step of the load, to show which part of the hub the memory goes to. */
  const steps: Array<[string, number]> = [];
  const step = async (name: string) => steps.push([name, (await memory(pid)).rss]);

  const client = await MllpTestClient.connect(mllpPort);
  for (let i = 0; i < orders; i++) {
    const ack = await client.exchange(order(i));
    if (ack.get('MSA-1') !== 'AA') throw new Error(`ORM ${i}: ${ack.get('MSA-1')}`);
  }
  await client.close();
  await step(`${orders} ORM ACKed, RIS copy queued`);

  const patient = await api(hub, '/fhir/R4/Patient', {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: await readFile(path.join(repoRoot, 'test', 'fixtures', 'fhir', 'patient-jane-doe.json'), 'utf8'),
  });
  const patientId = ((await patient.json()) as { id: string }).id;
  for (let i = 0; i < creates; i++) {
    const created = await api(hub, '/fhir/R4/ServiceRequest', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: serviceRequest(i, patientId),
    });
    if (created.status !== 201) throw new Error(`ServiceRequest ${i}: ${created.status} ${await created.text()}`);
  }

  await step(`${creates} ServiceRequests created`);
  const ris = await MllpTestListener.start(() => 'AA', risPort);
  await until('the RIS copy to deliver every ORM', () => ris.received.length >= orders);

  await step('RIS copy delivered (MLLP sender thread up)');
  const study = await writeStudy(instances);
  const sent = await storescu(hub, 'VALLEY_CT', study.files);
  if (sent.code !== 0) throw new Error(`storescu: ${sent.stderr}`);
  const routed = async () =>
    (await readdir(pacsDir, { recursive: true })).filter((f) => f.endsWith('.dcm') || /^CT\./.test(path.basename(f)))
      .length;
  await until('the study at the radiologist PACS', async () => (await routed()) >= instances);

  await step('study received and routed');
  const { peak } = await memory(pid);
  const idleSoon = await settled(pid);
  const idleAfter = await settled(pid, threadIdleMs);
  await ris.stop();
  await stopHub(hub);
  await pacs.stop();
  await rm(hub.dataDir, { recursive: true, force: true });
  await rm(pacsDir, { recursive: true, force: true });
  return { idleBefore, steps, peak, idleSoon, idleAfter };
}

// As `npm start` runs the hub (package.json), then with glibc's default, in the same run.
const compileCache = await tempDir('footprint-compile-cache');
const npmStartArenas = process.env['MALLOC_ARENA_MAX'] ?? '2';
const firstStart = await footprint(npmStartArenas, compileCache);
const started = await footprint(npmStartArenas, compileCache);
const glibcDefault = await footprint(undefined, compileCache);
await rm(compileCache, { recursive: true, force: true });
const { idleBefore, steps, peak, idleSoon, idleAfter } = started;

const mib = (n: number) => n.toFixed(0);
const verdict = (value: number, goal: number) =>
  `${mib(value)} MiB (goal ≤ ${goal}: ${value <= goal ? 'met' : 'not met'})`;
const markdown = `## Footprint of a hub at work (issue 16, goal 4)

Command: \`npm run bench -- footprint\` · ${machineLine()}

The whole hub (\`node hub.ts\` with \`MALLOC_ARENA_MAX=2\`, as \`npm start\` runs it) on its embedded store with
the sample orders channel (exams + RIS copy over MLLP), the sample studies-to-PACS channel and the sample facility. Load: ${orders} ORM^O01 over MLLP with the RIS copy's
receiver down, then up (all ${orders} delivered); ${creates} FHIR ServiceRequest creates; one ${instances}-instance
CT study by storescu, routed to storescp. Peak is the kernel's VmHWM of the hub process; idle is the median of
five VmRSS samples ${settleMs / 1000} s after the work (the worker threads still up), and again ${(settleMs + threadIdleMs) / 1000} s after it, once
they have ended (\`hub.threadIdleSeconds\`, default ${threadIdleMs / 1000}) and their freed memory has been returned (malloc_trim).

| process | RSS MiB |
| --- | ---: |
| bare Node (reference) | ${mib(bareRss)} |
| hub, healthy, before any work | ${mib(idleBefore)} |
${steps.map(([name, rss]) => `| hub, after: ${name} | ${mib(rss)} |`).join('\n')}
| hub, peak over the load | ${verdict(peak, 250)} |
| hub, idle ${settleMs / 1000} s after the load, worker threads still up | ${mib(idleSoon)} |
| hub, idle after the load, worker threads ended | ${verdict(idleAfter, 200)} |
| reference: the same hub on its first start (empty compile cache), healthy / peak / idle soon / idle | ${mib(firstStart.idleBefore)} / ${mib(firstStart.peak)} / ${mib(firstStart.idleSoon)} / ${mib(firstStart.idleAfter)} |
| reference: the same hub with glibc's default arenas (MALLOC_ARENA_MAX unset), healthy / peak / idle soon / idle | ${mib(glibcDefault.idleBefore)} / ${mib(glibcDefault.peak)} / ${mib(glibcDefault.idleSoon)} / ${mib(glibcDefault.idleAfter)} |

Where it goes, and what gave it back (A/B runs of this bench on 2026-12-06; before them the hub stood at 218
healthy, 420 peak and 380 MiB idle):
- V8's young generation kept at its first size from the first module on (runtime/heap-settings.ts, now hub.ts's
  first import; set in main(), the imports had already grown it to 64 MiB committed for 21 MiB used). The worker
  threads take V8's flags from the process, so theirs stay small too.
- The report PDF threads start with the first render instead of at boot, every worker thread (FHIR validation,
  MLLP sender, map scripts, PDFs) ends after \`hub.threadIdleSeconds\` (30) without work, and the memory glibc kept
  is then handed back with malloc_trim (runtime/idle-thread.ts, runtime/malloc-trim.ts). With the first change:
  healthy 164, peak 328, idle 15 s after the load 328, idle once the threads had ended 181 MiB. malloc_trim alone,
  called by hand (gdb) on an idle hub whose threads had ended: 314 to 233 MiB.
- Node's compile cache (runtime/compile-cache.ts): a thread that reads node-hl7-client's compiled code from it
  instead of parsing its 4 MB bundle peaks about 60 MiB lower (a process loading it on one worker thread: 105
  against 164 MiB). The first-start row is the same hub with the cache empty. With \`npm start\` naming the cache
  before Node starts, Node's TypeScript stripper (a WebAssembly module, ~18 MiB) is not loaded either.
- Libraries loaded with their first use: ssh2 and ftp-srv only with an upload listener or an SFTP drop, pdf-lib
  with the first PDF attachment, dcmjs-imaging and its encoders with the first rendered frame: healthy 158 to 137.
- The FHIR resource definitions' bundle (35 MB) scanned in 1 MiB chunks instead of read into one buffer.
- A malloc_trim after a new validation thread's first answer: the hub after the 200 creates at 226 MiB against 248
  to 278 without it; the peak, reached while that thread loads, did not move.
- The scan of the definitions' bundle reads its 1 MiB chunks through one buffer (fhir/definitions.ts). A new
  buffer per chunk left ~35 MiB of garbage external memory that V8 collected only after the scan, while the
  validation thread was loading: that was the peak. A/B of this bench, two runs each, the checkouts taking turns
  (2026-12-07): peak 260 and 261 MiB before, 227 and 227 MiB after; the validation thread alone
  (a process running one, asked a Patient then 200 ServiceRequests) peaked at 130 MiB before, 104 after.

What the peak holds now (per-thread heaps from diagnostic reports at each step): the hub's own thread about 60
MiB of JavaScript heap and its code; the MLLP sender thread about 30 MiB of heap (node-hl7-client's tables); the
FHIR validation thread about 20 MiB of heap and Medplum's core. The peak is now where the load leaves the hub
(the 200 creates, the RIS copy delivered), no longer a spike while the validation thread loads.
Tried and not kept: an MLLP destination without node-hl7-client (the card's HL7 client; branch
wt/relay-footprint-own-framer) took the peak about 120 MiB lower; MALLOC_MMAP_THRESHOLD_=32768 saved 45 MiB and
slowed DICOM ingest. \`npm start\` limits glibc to two malloc arenas (the last row is the hub without that limit).
`;
console.log(markdown);
await writeSection('footprint', markdown);
