// One measured path of the outbound benchmark in a process of its own, so that each row's peak RSS is that of
// its own work and not of the rows before it: `node --expose-gc path-child.ts '<json>'` with { kind: 'mail' |
// 'fax', path: 'bare' | 'hub', count, queueAtMost?, smtpPort, faxEndpoint, pollIntervalMs }. Prints one JSON
// line (Measured). Without queueAtMost the hub is given messages as fast as it accepts them; with it, the next
// message waits until fewer than that many are queued: the same work with a short queue.
// A short warm-up runs the same path first (imports, WSDL parse, the heap grown to its working size), then the
// kernel's peak-RSS mark is reset (/proc/self/clear_refs 5) and the run is measured.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import soap from 'soap';
import { FaxJobs } from '../../fax/fax-jobs.ts';
import { soapFaxDestinationType } from '../../fax/soap-fax-destination.ts';
import { smtpDestination } from '../../mail/smtp-destination.ts';
import { Scheduler } from '../../runtime/scheduler.ts';
import { TestPeers, channelJson, quietLog, startEngine, tempDir } from '../../test/channels/harness.ts';

export interface PathArgs {
  kind: 'mail' | 'fax';
  path: 'bare' | 'hub';
  count: number;
  /** Hub: receive the next message only while fewer than this many are queued. */
  queueAtMost?: number;
  smtpPort: number;
  faxEndpoint: string;
  pollIntervalMs: number;
}

export interface Measured {
  seconds: number;
  /** Hub: until the last message was accepted (stored and queued). */
  acceptSeconds: number;
  /** Hub: the most deliveries queued (accepted, not yet recorded as sent) at one time. */
  maxQueued: number;
  peakRssMiB: number;
  /** Hub: heap and external memory after a full GC at the moment the most were queued. */
  heapAfterGcMiB: number;
  externalAfterGcMiB: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as PathArgs;
const wsdl = path.join(import.meta.dirname, '..', '..', 'config', 'wsdl', 'fax-gateway.wsdl');
const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(200 * 1024 - 9, 0x41)]);
const pdfBase64 = pdf.toString('base64');
const from = 'reports@rso.example';
const mail = (i: number) => ({
  to: ['radiology@clinic.example'],
  subject: 'Radiology report from RSO',
  text: `The final radiology report for exam RSO-${i} is attached as a PDF.\n`,
});
const MiB = 2 ** 20;
const gc = (): void => {
  if (globalThis.gc === undefined) throw new Error('run with --expose-gc');
  globalThis.gc();
};

async function bareMail(n: number): Promise<void> {
  // The options mail/smtp-sender.ts gives nodemailer: one connection per mail, no pool.
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: args.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  for (let i = 0; i < n; i++)
    await transport.sendMail({
      from,
      ...mail(i),
      attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', content: pdf }],
    });
  transport.close();
}

async function bareFax(n: number): Promise<void> {
  const client = (await soap.createClientAsync(wsdl, {}, args.faxEndpoint)) as unknown as Record<
    string,
    (args: Record<string, string>) => Promise<[Record<string, string>]>
  >;
  for (let i = 0; i < n; i++) {
    const [sent] = await client['SendFaxAsync']!({
      recipient: '+15555550199',
      coverText: `Radiology report for exam RSO-${i}`,
      fileName: 'report.pdf',
      document: pdfBase64,
    });
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, args.pollIntervalMs));
      const [status] = await client['GetFaxStatusAsync']!({ jobId: sent['jobId'] ?? '' });
      if (status['status'] === 'delivered') break;
    }
  }
}

interface HubFigures {
  acceptSeconds: number;
  maxQueued: number;
  heapAfterGc: number;
  externalAfterGc: number;
}

/** n messages received by the hub's channel and delivered by its destination; resolves once all are recorded sent. */
async function throughHub(n: number, measure: boolean): Promise<HubFigures> {
  const tmp = await tempDir(`bench-outbound-${args.kind}`);
  const peers = new TestPeers();
  const registry = peers.registry();
  const started = await startEngine(peers, path.join(tmp.dir, 'data'), { registry, pollIntervalMs: 50 });
  const scheduler = new Scheduler({ db: started.store.db, log: quietLog, processEveryMs: args.pollIntervalMs });
  registry.addDestination(smtpDestination);
  registry.addDestination(soapFaxDestinationType(new FaxJobs(started.store.db, scheduler, quietLog)));
  await scheduler.start();
  const connector =
    args.kind === 'mail'
      ? { type: 'smtp', settings: { host: '127.0.0.1', port: args.smtpPort, security: 'none', from } }
      : { type: 'soap-fax', settings: { wsdl, endpoint: args.faxEndpoint, pollIntervalMs: args.pollIntervalMs } };
  await started.engine.saveDefinition(
    channelJson('out', [
      {
        name: args.kind,
        connector,
        queue: 'unordered',
        retry: { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 },
      },
    ]),
  );
  // Counted from the engine's events, which come once a delivery's record is durable: reading the messages back
  // to watch their state would decode every stored PDF again and again, garbage of the benchmark's own.
  let sent = 0;
  let received = 0;
  let maxQueued = 0;
  let failure: string | undefined;
  let allSent!: () => void;
  const done = new Promise<void>((resolve) => (allSent = resolve));
  let oneSent: (() => void) | undefined;
  started.engine.events.on('delivery-sent', () => {
    oneSent?.();
    if (++sent === n) allSent();
  });
  started.engine.events.on('delivery-error', (event) => {
    failure = event.error;
    oneSent?.();
    allSent();
  });
  const receiving = performance.now();
  const queueAtMost = measure ? (args.queueAtMost ?? Infinity) : Infinity;
  for (let i = 0; i < n; i++) {
    while (received - sent >= queueAtMost && failure === undefined)
      await new Promise<void>((resolve) => (oneSent = resolve));
    const body =
      args.kind === 'mail'
        ? {
            ...mail(i),
            attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', contentBase64: pdfBase64 }],
          }
        : {
            to: '+15555550199',
            coverText: `Radiology report for exam RSO-${i}`,
            fileName: 'report.pdf',
            documentBase64: pdfBase64,
          };
    const outcome = await peers.receive('out', {
      raw: JSON.stringify(body),
      dataType: 'json',
      source: { remoteAddress: '127.0.0.1' },
    });
    if (outcome.status !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(outcome)}`);
    received++;
    maxQueued = Math.max(maxQueued, received - sent);
  }
  const acceptSeconds = (performance.now() - receiving) / 1000;
  // What stays in memory with the most queued: a full GC leaves only what is reachable.
  let heapAfterGc = 0;
  let externalAfterGc = 0;
  if (measure) {
    gc();
    ({ heapUsed: heapAfterGc, external: externalAfterGc } = process.memoryUsage());
  }
  await done;
  if (failure !== undefined) throw new Error(`${args.kind} delivery failed: ${failure}`);
  await started.engine.stop();
  await scheduler.stop();
  await started.store.close();
  await tmp.remove();
  return { acceptSeconds, maxQueued, heapAfterGc, externalAfterGc };
}

/** The kernel's peak RSS of this process (VmHWM), in bytes. */
function peakRss(): number {
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kib) * 1024;
}

const warmUp = 20;
const run = (n: number, measure: boolean) =>
  args.path === 'hub'
    ? throughHub(n, measure)
    : (args.kind === 'mail' ? bareMail(n) : bareFax(n)).then(() => undefined);
await run(warmUp, false);
gc();
writeFileSync('/proc/self/clear_refs', '5');
const started = performance.now();
const hub = await run(args.count, true);
const result: Measured = {
  seconds: (performance.now() - started) / 1000,
  acceptSeconds: hub?.acceptSeconds ?? 0,
  maxQueued: hub?.maxQueued ?? 0,
  peakRssMiB: peakRss() / MiB,
  heapAfterGcMiB: (hub?.heapAfterGc ?? 0) / MiB,
  externalAfterGcMiB: (hub?.externalAfterGc ?? 0) / MiB,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
