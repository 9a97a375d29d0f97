// `npm run bench -- outbound` (issue 13): report e-mails with a 200 KB PDF to smtp-server and faxes to the SOAP
// gateway of the shipped WSDL, both peers in another process (peers-child.ts). Each goes through the hub's
// channel engine (message store, durable unordered queue, `smtp` and `soap-fax` destinations, fax status polled
// by the scheduler) and as a bare loop with the same library and settings to the same peer, in this run.
// Every path runs in a fresh process (path-child.ts), so its peak RSS is its own. Peak RSS also grows with the
// length of a run (garbage the heap has not given back yet; the bare loop shows it too), so "flat in the number
// queued" is read off two hub runs of the same work: messages given as fast as the hub accepts them (hundreds
// queued) against messages given only while fewer than paceQueue are queued.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { defaultConcurrency } from '../../channels/definition.ts';
import { machineLine, writeSection } from '../report.ts';
import type { Measured, PathArgs } from './path-child.ts';

const counts = (process.env['OUTBOUND_COUNTS'] ?? '1000').split(',').map(Number);
/** The short queue of the paced run: twice the destination's deliveries in flight. */
const paceQueue = 2 * defaultConcurrency;
/** The gateway's status poll interval and the scheduler's processEvery, the same for the hub and the bare loop. */
const pollIntervalMs = Number(process.env['OUTBOUND_POLL_MS'] ?? 50);

const peersChild = spawn(process.execPath, [path.join(import.meta.dirname, 'peers-child.ts')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const [line] = (await once(createInterface({ input: peersChild.stdout! }), 'line')) as [string];
const peers = JSON.parse(line) as { smtpPort: number; faxEndpoint: string };

async function measure(
  kind: PathArgs['kind'],
  which: PathArgs['path'],
  count: number,
  queueAtMost?: number,
): Promise<Measured> {
  const args: PathArgs = {
    kind,
    path: which,
    count,
    pollIntervalMs,
    ...peers,
    ...(queueAtMost ? { queueAtMost } : {}),
  };
  const child = spawn(
    process.execPath,
    ['--expose-gc', path.join(import.meta.dirname, 'path-child.ts'), JSON.stringify(args)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const [result] = (await once(lines, 'line')) as [string];
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${kind} ${which} ${count}: exit ${code}`);
  return JSON.parse(result) as Measured;
}

const mib = (n: number) => `${n.toFixed(0)} MiB`;
const rows: string[] = [];
const goals: string[] = [];
const loads: string[] = [];
for (const kind of ['mail', 'fax'] as const) {
  const label = kind === 'mail' ? 'e-mail, 200 KB PDF (nodemailer)' : 'fax, 200 KB PDF (soap, delivered at 1st poll)';
  for (const count of counts) {
    const bare = await measure(kind, 'bare', count);
    const paced = await measure(kind, 'hub', count, paceQueue);
    const flooded = await measure(kind, 'hub', count);
    loads.push(loadavg()[0]!.toFixed(1));
    const row = (given: string, hub: Measured) =>
      `| ${label} | ${count} | ${given} | ${hub.maxQueued} | ${(count / bare.seconds).toFixed(1)} | ` +
      `${(count / hub.seconds).toFixed(1)} | ${(bare.seconds / hub.seconds).toFixed(2)}× | ` +
      `${hub.acceptSeconds.toFixed(1)} of ${hub.seconds.toFixed(1)} s | ${mib(bare.peakRssMiB)} | ` +
      `${mib(hub.peakRssMiB)} | ${mib(hub.heapAfterGcMiB)} + ${mib(hub.externalAfterGcMiB)} |`;
    rows.push(row(`while < ${paceQueue} queued`, paced), row('as fast as accepted', flooded));
    console.log(rows.slice(-2).join('\n'));
    const ratio = bare.seconds / flooded.seconds;
    const flat = flooded.peakRssMiB <= paced.peakRssMiB * 1.1;
    goals.push(
      `${kind} × ${count}: throughput ${ratio >= 0.8 ? 'met' : 'not met'} (${ratio.toFixed(2)}× the bare loop), ` +
        `peak RSS ${flat ? 'flat' : 'not flat'} (${mib(paced.peakRssMiB)} with ${paced.maxQueued} queued at most, ` +
        `${mib(flooded.peakRssMiB)} with ${flooded.maxQueued}; heap after GC ${mib(paced.heapAfterGcMiB)} and ` +
        `${mib(flooded.heapAfterGcMiB)}; the bare loop ${mib(bare.peakRssMiB)})`,
    );
  }
}
peersChild.stdin!.end();

await writeSection(
  'outbound',
  `## Outbound: e-mail and fax (issue 13)

\`npm run bench -- outbound\` (${counts.join(' and ')} deliveries per path; the fax status poll interval and the
scheduler's processEvery ${pollIntervalMs} ms for both paths). ${machineLine()}.

The hub path: each message received by a channel (message store), queued durably (unordered queue, one worker
with the destination's default concurrency of ${defaultConcurrency} deliveries in flight), sent by the \`smtp\` / \`soap-fax\`
destination; a fax counts once the scheduled status poll saw it delivered, a delivery once its sent state is
durable. The hub runs twice with the same work: given messages only while fewer than ${paceQueue} are queued, and
given them as fast as it accepts them while it delivers; "queued at most" is the largest number accepted and not
yet delivered at one time. The reference: a bare loop with the same library and settings to the same peer
(another process), one at a time. Every path runs in a fresh process after a warm-up of 20 deliveries; its peak
RSS is the kernel's high-water mark (VmHWM, reset after the warm-up). "Heap after GC" is heapUsed + external
after a full GC at the moment all messages were accepted (the most queued): what stays reachable. Load average
(1 min) after each kind: ${loads.join(', ')}.

| path | deliveries | hub given messages | queued at most | bare loop / s | hub / s | hub ÷ bare | hub: all accepted after | peak RSS, bare loop | peak RSS, hub | hub heap after GC |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Goals (≥ 0.8× the bare loop as fast as accepted; peak RSS flat in the number queued: the long queue's within
10 % of the short one's): ${goals.join('; ')}.
`,
);
process.exit(0);
