// `npm run bench -- hl7`: 10,000 ORM^O01 sent over MLLP on 1 and on 8 connections, each sender waiting for its
// ACK before the next message (as HL7 senders do). The hub path is the real one: mllp source -> channel engine
// -> durable embedded store -> ACK. The reference in the same run is an MLLP echo pair on our own framer that
// parses each message and answers an ACK while storing nothing, so the ratio shows what the durable store costs.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { registerBuiltinConnectors } from '../../channels/builtin-connectors.ts';
import { parseChannelDefinition } from '../../channels/definition-schema.ts';
import { ChannelEngine } from '../../channels/engine.ts';
import { ChannelRegistry } from '../../channels/registry.ts';
import { ackRequestOf, buildAck } from '../../hl7/ack.ts';
import { decodeHl7, encodeHl7 } from '../../hl7/charset.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { encodeFrame, MllpDecoder } from '../../hl7/mllp-framer.ts';
import { registerHl7Connectors } from '../../hl7/register.ts';
import { createLogger, setLogLevel } from '../../runtime/log.ts';
import { openStore } from '../../store/open.ts';
import { machineLine, percentile, writeSection } from '../report.ts';

const total = Number(process.env['HL7_BENCH_MESSAGES'] ?? 10_000);
const template = (await readFile(path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'hl7', 'orm-o01.hl7'))).toString('latin1');

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** One sender: a connection that sends its messages one by one, each after the previous ACK. */
async function sender(port: number, ids: string[], latencies: number[]): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await once(socket, 'connect');
  let wake: (() => void) | undefined;
  let acks = 0;
  const decoder = new MllpDecoder({ maxFrameBytes: 2 ** 20 }, {
    frame: (frame) => {
      if (!frame.includes('MSA|AA|')) throw new Error(`not an AA: ${frame.toString('latin1')}`);
      acks++;
      wake?.();
    },
    garbage: () => undefined,
    oversize: () => undefined,
  });
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  for (const id of ids) {
    const before = acks;
    const started = performance.now();
    const answered = new Promise<void>((resolve) => (wake = resolve));
    socket.write(encodeFrame(Buffer.from(template.replace('MSG00001', id), 'latin1')));
    if (acks === before) await answered;
    latencies.push(performance.now() - started);
  }
  socket.destroy();
}

interface Result {
  label: string;
  connections: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function drive(label: string, port: number, connections: number, prefix: string): Promise<Result> {
  const latencies: number[] = [];
  const ids = Array.from({ length: total }, (_, i) => `${prefix}${i}`);
  const shares = Array.from({ length: connections }, (_, c) => ids.filter((_, i) => i % connections === c));
  const started = performance.now();
  await Promise.all(shares.map((share) => sender(port, share, latencies)));
  const seconds = (performance.now() - started) / 1000;
  return { label, connections, perSecond: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** The reference: parse, build an ACK, answer; nothing stored. */
async function startEcho(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    const decoder = new MllpDecoder({ maxFrameBytes: 2 ** 20 }, {
      frame: (frame) => {
        const { text, charset } = decodeHl7(frame);
        const ack = buildAck(ackRequestOf(Hl7Message.parse(text)), 'AA');
        socket.write(encodeFrame(encodeHl7(ack.toString(), charset)));
      },
      garbage: () => undefined,
      oversize: () => undefined,
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function startHub(dir: string): Promise<{ port: number; close: () => Promise<void> }> {
  const log = createLogger({ bench: 'hl7' });
  const store = await openStore({ dataDir: dir, log });
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registerHl7Connectors(registry);
  const engine = new ChannelEngine({ db: store.db, registry, log });
  await engine.start();
  const port = await freePort();
  const definition = parseChannelDefinition({
    id: 'bench-orders',
    name: 'bench orders',
    source: { type: 'mllp', settings: { host: '127.0.0.1', port } },
    destinations: [],
  }, registry);
  const [status] = await engine.deploy({ definition, revision: 0 });
  if (status?.status !== 'deployed') throw new Error(`bench channel not deployed: ${status?.error}`);
  return { port, close: async () => { await engine.stop(); await store.close(); } };
}

setLogLevel('error');
const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-bench-hl7-'));
const results: Result[] = [];
const echo = await startEcho();
results.push(await drive('MLLP echo (our framer, no store)', echo.port, 1, 'E1-'));
results.push(await drive('MLLP echo (our framer, no store)', echo.port, 8, 'E8-'));
await echo.close();
const hub = await startHub(dir);
results.push(await drive('hub: mllp source -> durable store -> ACK', hub.port, 1, 'H1-'));
results.push(await drive('hub: mllp source -> durable store -> ACK', hub.port, 8, 'H8-'));
await hub.close();
clearInterval(rssTimer);
await rm(dir, { recursive: true, force: true });

const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const rows = results.map((r) => `| ${r.label} | ${r.connections} | ${fmt(r.perSecond)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
const echo8 = results[1]!.perSecond;
const hub8 = results[3]!.perSecond;
const markdown = `## HL7 v2 over MLLP

Command: \`npm run bench -- hl7\` · ${machineLine()}

${fmt(total)} ORM^O01 per row; every sender waits for its ACK before the next message. Senders, hub and echo run
in one process (the figures include the senders' own work).

| path | connections | msg/s | p50 ms | p99 ms |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Hub vs echo on 8 connections: ${(hub8 / echo8).toFixed(2)}×. Peak RSS of the whole run: ${Math.round(peakRss / 2 ** 20)} MiB.

Where the hub's time goes (CPU profile, \`node --cpu-prof bench/hl7/run.ts\`): about half of it is the embedded
store's synchronous COMMIT (fsync) in store/embedded/engine.ts, once per received message and on the main
thread, so 8 connections cannot overlap their commits; HL7 parsing, ACK building and framing are a few percent.
The goal of 5,000 msg/s on 8 connections needs group commit (several receives in one transaction) in the store.
`;
console.log(markdown);
await writeSection('hl7', markdown);
