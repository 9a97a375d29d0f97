// `npm run bench -- churn`: what careless peers and scanners leave behind. The real hub process (`node hub.ts`)
// gets 2,000 connections on each listener (MLLP, DICOM, HTTP) that connect, send a little or nothing, and drop
// (FIN or RST, in turn); its RSS after each listener's churn is compared with its idle RSS before any churn
// (issue 10: within 10 %). The reference is the hub itself, idle, in the same run. A second round shows whether
// what stays after the first is warm-up (JIT code, pools that are reused) or grows with every connection.
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { encodeAssociateRq } from '../../dicom/pdu.ts';
import { runTool } from '../../test/dicom/peers.ts';
import { MllpTestClient } from '../../test/hl7/mllp-peer.ts';
import { dicomTestConfig, hubAe, valleyFacility } from '../../test/hub/dicom-support.ts';
import { hostileOrder } from '../../test/support/hostile-hl7.ts';
import { api, freePort, repoRoot, startHub, stopHub, waitHealthy } from '../../test/support/hub-process.ts';
import { machineLine, writeSection } from '../report.ts';

const perListener = Number(process.env['CHURN_CONNECTIONS'] ?? 2000);
/** Below MLLP's default per-address limit (20), so every connection takes the listener's normal path. */
const concurrency = 10;
const settleMs = Number(process.env['CHURN_SETTLE_MS'] ?? 15_000);
const rounds = 2;

const mllpPort = await freePort();
const channel = JSON.parse(await readFile(path.join(repoRoot, 'config', 'channels', 'orders-mllp.json'), 'utf8')) as {
  source: { settings: Record<string, unknown> };
  destinations: Array<{ name: string }>;
};
channel.source.settings['port'] = mllpPort;
channel.destinations = channel.destinations.filter((destination) => destination.name === 'exams');
const hub = await startHub({
  config: dicomTestConfig,
  facilities: [await valleyFacility()],
  channels: [{ id: 'orders-mllp', ...channel }],
});
await waitHealthy(hub);

async function rssMiB(): Promise<number> {
  const status = await readFile(`/proc/${hub.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** The hub's V8 heap in use (its /metrics): what of RSS is JavaScript objects, the rest is native memory. */
async function heapMiB(): Promise<number> {
  const text = await (await api(hub, '/metrics')).text();
  return Number(/^process_heap_used_bytes(?:\{\})? (\S+)$/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The median of five samples a second apart: one sample can catch a GC half done. */
async function settledRss(): Promise<number> {
  await sleep(settleMs - 5000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(await rssMiB());
    await sleep(1000);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

type Listener = 'MLLP' | 'DICOM' | 'HTTP';

const ports: Record<Listener, number> = { MLLP: mllpPort, DICOM: hub.dicomPort, HTTP: hub.port };

/** What the i-th connection sends before it drops: nothing, a fragment, or a whole opening the hub acts on. */
function opening(listener: Listener, i: number): Buffer {
  const kind = i % 3;
  if (kind === 0) return Buffer.alloc(0);
  if (listener === 'MLLP') {
    const order = Buffer.from(hostileOrder(1, { controlId: `CHURN${i}` }), 'latin1');
    return kind === 1
      ? Buffer.concat([Buffer.from([0x0b]), order.subarray(0, 40)])
      : Buffer.from('\0\0\0GET / HTTP/1.1');
  }
  if (listener === 'DICOM') {
    const rq = encodeAssociateRq({
      calledAe: hubAe,
      callingAe: 'VALLEY_CT',
      maxPduLength: 16384,
      contexts: [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }],
    });
    return kind === 1 ? rq.subarray(0, 30) : rq;
  }
  return Buffer.from(kind === 1 ? 'GET /hea' : `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${hub.port}\r\n\r\n`);
}

async function dropOne(listener: Listener, i: number): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port: ports[listener], noDelay: true });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const bytes = opening(listener, i);
  if (bytes.length > 0) await new Promise((resolve) => socket.write(bytes, resolve));
  if (i % 2 === 0) socket.destroy();
  else socket.resetAndDestroy();
  await once(socket, 'close');
}

async function churn(listener: Listener): Promise<number> {
  let next = 0;
  let peak = 0;
  const sampler = setInterval(() => void rssMiB().then((rss) => (peak = Math.max(peak, rss))), 100);
  const worker = async () => {
    for (let i = next++; i < perListener; i = next++) await dropOne(listener, i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearInterval(sampler);
  return Math.max(peak, await rssMiB());
}

/** One ordinary exchange on each listener, so the idle figure is that of a hub that has served. */
async function serveOnce(controlId: string): Promise<void> {
  const client = await MllpTestClient.connect(mllpPort);
  const ack = await client.exchange(Buffer.from(hostileOrder(1, { controlId }), 'latin1'));
  await client.close();
  if (ack.get('MSA-1') === undefined) throw new Error('no ACK');
  const echo = await runTool('echoscu', ['-aet', 'VALLEY_CT', '-aec', hubAe, '127.0.0.1', String(hub.dicomPort)]);
  if (echo.code !== 0) throw new Error(`C-ECHO failed: ${echo.stderr}`);
  if ((await api(hub, '/health')).status !== 200) throw new Error('/health not 200');
}

interface Row {
  round: number;
  listener: Listener;
  peak: number;
  after: number;
  heap: number;
}

await serveOnce('CHURN-WARM');
const idle = await settledRss();
const idleHeap = await heapMiB();
const rows: Row[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const listener of ['MLLP', 'DICOM', 'HTTP'] as const) {
    const peak = await churn(listener);
    const after = await settledRss();
    rows.push({ round, listener, peak, after, heap: await heapMiB() });
  }
}
await serveOnce('CHURN-AFTER');
const healthy = (await api(hub, '/health')).status === 200;
await stopHub(hub);
await rm(hub.dataDir, { recursive: true, force: true });

const mib = (n: number) => n.toFixed(0);
const lines = rows.map(
  (r) =>
    `| ${r.round} | ${r.listener} | ${perListener.toLocaleString('en-US')} | ${mib(r.peak)} | ${mib(r.after)} | ${(r.after / idle).toFixed(2)}× | ${mib(r.heap)} |`,
);
const last = rows.at(-1)!;
const markdown = `## Connection churn (issue 10)

Command: \`npm run bench -- churn\` · ${machineLine()}

The whole hub (\`node hub.ts\`: the sample orders channel on MLLP, the DICOM SCP, HTTP) on an embedded store.
Each listener in turn gets ${perListener.toLocaleString('en-US')} connections, ${concurrency} at a time, that
drop (FIN and RST in turn) after sending nothing, a fragment (a frame without its end, 30 bytes of an
A-ASSOCIATE-RQ, half a request line), or an opening the hub acts on (NULs and an HTTP line on MLLP, a whole
A-ASSOCIATE-RQ from a known AE, a whole GET /health). RSS is the hub process's VmRSS: idle is the median of five
samples, a second apart, after one ORM, one C-ECHO and one /health and ${settleMs / 1000} s of quiet; "after" is
the same median ${settleMs / 1000} s after that listener's churn; the peak is sampled every 100 ms during it.
Round 2 repeats round 1 on the same process: what round 1 leaves and round 2 does not add is warm-up, not a leak.

Idle RSS: ${mib(idle)} MiB, of which V8 heap in use: ${mib(idleHeap)} MiB (/metrics \`process_heap_used_bytes\`).

| round | listener | connections | peak RSS MiB | RSS after MiB | after / idle | heap used after MiB |
| ---: | --- | ---: | ---: | ---: | ---: | ---: |
${lines.join('\n')}

Goal: RSS after returns within 10 % of idle (≤ 1.10×). After all ${rounds * 3 * perListener} connections:
${(last.after / idle).toFixed(2)}× (${last.after / idle <= 1.1 ? 'met' : 'not met'}). The hub answered /health,
an ORM and a C-ECHO afterwards: ${healthy ? 'yes' : 'no'}.
A row between can stand higher: what the connections left is garbage until V8's next full collection, and only
then is it given back; with the young generation kept at its first size (runtime/heap-settings.ts) the heap
does not stay grown (before that change the same run ended at 1.73×).
`;
console.log(markdown);
await writeSection('churn', markdown);
if (!healthy) process.exit(1);
