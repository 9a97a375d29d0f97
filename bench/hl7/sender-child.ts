// The benchmark's HL7 senders, in a process of their own (as EHRs are): `connections` MLLP connections share
// `total` ORM^O01 messages; each connection sends its next message only after the ACK of the previous one.
// Prints one JSON line: { perSecond, latencies, cpuMicros } for the parent to summarise. With `hostileEvery`, every that
// many-th message is issue 10's hostile order (PID-3 repeated 10,000 times), answered AE by the hub's limits.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { encodeFrame, MllpDecoder } from '../../hl7/mllp-framer.ts';
import { hostileOrder } from '../../test/support/hostile-hl7.ts';

const [port, connections, total, prefix] = [
  Number(process.argv[2]),
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5] ?? 'M',
];
const hostileEvery = Number(process.argv[6] ?? 0);
const hostileIds = new Set<string>();
const template = (
  await readFile(path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'hl7', 'orm-o01.hl7'))
).toString('latin1');

async function sender(ids: string[], latencies: number[]): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await once(socket, 'connect');
  let wake: (() => void) | undefined;
  const decoder = new MllpDecoder(
    { maxFrameBytes: 2 ** 20 },
    {
      frame: (frame) => {
        if (!frame.includes('MSA|AA|') && !frame.includes('MSA|AE|'))
          throw new Error(`not an AA or AE: ${frame.toString('latin1')}`);
        wake?.();
      },
      garbage: () => undefined,
      oversize: () => undefined,
    },
  );
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  for (const id of ids) {
    const started = performance.now();
    const answered = new Promise<void>((resolve) => (wake = resolve));
    const text = hostileIds.has(id) ? hostileOrder(10_000, { controlId: id }) : template.replace('MSG00001', id);
    socket.write(encodeFrame(Buffer.from(text, 'latin1')));
    await answered;
    latencies.push(performance.now() - started);
  }
  socket.destroy();
}

const latencies: number[] = [];
const ids = Array.from({ length: total }, (_, i) => `${prefix}${i}`);
if (hostileEvery > 0) {
  for (const [i, id] of ids.entries()) if ((i + 1) % hostileEvery === 0) hostileIds.add(id);
}
const shares = Array.from({ length: connections }, (_, c) => ids.filter((_, i) => i % connections === c));
const started = performance.now();
const cpuAtStart = process.cpuUsage();
await Promise.all(shares.map((share) => sender(share, latencies)));
const seconds = (performance.now() - started) / 1000;
// The senders' own CPU (all threads), so the parent can say how much of the machine the senders took.
const cpu = process.cpuUsage(cpuAtStart);
process.stdout.write(
  `${JSON.stringify({ perSecond: total / seconds, latencies, cpuMicros: cpu.user + cpu.system })}\n`,
);
