// `npm run bench -- outbound` (issue 13): report e-mails with a 200 KB PDF to smtp-server and faxes to the SOAP
// gateway of the shipped WSDL, both peers in another process (peers-child.ts). Each goes once through the hub's
// channel engine (message store, durable unordered queue, `smtp` and `soap-fax` destinations, fax status polled
// by the scheduler) and once as a bare loop with the same library and settings to the same peer, in this run.
// Deliveries/s per path, the ratio (goal ≥ 0.8×), and the peak RSS of this process while the hub worked, at a
// quarter and at all of the deliveries queued (goal: flat in the number queued).
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import path from 'node:path';
import nodemailer from 'nodemailer';
import soap from 'soap';
import { defaultConcurrency } from '../../channels/definition.ts';
import { FaxJobs } from '../../fax/fax-jobs.ts';
import { soapFaxDestinationType } from '../../fax/soap-fax-destination.ts';
import { smtpDestination } from '../../mail/smtp-destination.ts';
import { Scheduler } from '../../runtime/scheduler.ts';
import { TestPeers, channelJson, quietLog, startEngine, tempDir } from '../../test/channels/harness.ts';
import { machineLine, writeSection } from '../report.ts';

const count = Number(process.env['OUTBOUND_COUNT'] ?? 1000);
/** The gateway's status poll interval, the same for the hub and the bare loop. */
const pollIntervalMs = Number(process.env['OUTBOUND_POLL_MS'] ?? 50);
const wsdl = path.join(import.meta.dirname, '..', '..', 'config', 'wsdl', 'fax-gateway.wsdl');
const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(200 * 1024 - 9, 0x41)]);
const pdfBase64 = pdf.toString('base64');

const child = spawn(process.execPath, [path.join(import.meta.dirname, 'peers-child.ts')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
const peers = JSON.parse(line) as { smtpPort: number; faxEndpoint: string };

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
async function measured(run: () => Promise<void>): Promise<{ seconds: number; peakMiB: number }> {
  globalThis.gc?.();
  peakRss = process.memoryUsage.rss();
  const started = performance.now();
  await run();
  return { seconds: (performance.now() - started) / 1000, peakMiB: peakRss / 2 ** 20 };
}

const smtpSettings = { host: '127.0.0.1', port: peers.smtpPort, security: 'none', from: 'reports@rso.example' };
const mail = (i: number) => ({
  to: ['radiology@clinic.example'],
  subject: 'Radiology report from RSO',
  text: `The final radiology report for exam RSO-${i} is attached as a PDF.\n`,
});

async function bareMail(n: number): Promise<void> {
  // The options mail/smtp-sender.ts gives nodemailer: one connection per mail, no pool.
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: peers.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  for (let i = 0; i < n; i++)
    await transport.sendMail({
      from: smtpSettings.from,
      ...mail(i),
      attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', content: pdf }],
    });
  transport.close();
}

async function bareFax(n: number): Promise<void> {
  const client = (await soap.createClientAsync(wsdl, {}, peers.faxEndpoint)) as unknown as Record<
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
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      const [status] = await client['GetFaxStatusAsync']!({ jobId: sent['jobId'] ?? '' });
      if (status['status'] === 'delivered') break;
    }
  }
}

/** n messages received by the hub's channel and delivered by its destination; the time runs until the last is sent. */
/** Seconds the hub took to accept (store and queue) the messages, measured inside the hub run. */
let acceptSeconds = 0;

/** `concurrency` undefined: the destination's default (channels/definition.ts defaultConcurrency). */
async function throughHub(kind: 'mail' | 'fax', n: number, concurrency?: number): Promise<void> {
  const tmp = await tempDir(`bench-outbound-${kind}`);
  const testPeers = new TestPeers();
  const registry = testPeers.registry();
  const started = await startEngine(testPeers, path.join(tmp.dir, 'data'), { registry, pollIntervalMs: 50 });
  const scheduler = new Scheduler({ db: started.store.db, log: quietLog, processEveryMs: pollIntervalMs });
  registry.addDestination(smtpDestination);
  registry.addDestination(soapFaxDestinationType(new FaxJobs(started.store.db, scheduler, quietLog)));
  await scheduler.start();
  const connector =
    kind === 'mail'
      ? { type: 'smtp', settings: smtpSettings }
      : { type: 'soap-fax', settings: { wsdl, endpoint: peers.faxEndpoint, pollIntervalMs } };
  await started.engine.saveDefinition(
    channelJson('out', [
      {
        name: kind,
        connector,
        queue: 'unordered',
        ...(concurrency === undefined ? {} : { concurrency }),
        retry: { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 },
      },
    ]),
  );
  const ids: string[] = [];
  const receiving = performance.now();
  for (let i = 0; i < n; i++) {
    const body =
      kind === 'mail'
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
    const outcome = await testPeers.receive('out', {
      raw: JSON.stringify(body),
      dataType: 'json',
      source: { remoteAddress: '127.0.0.1' },
    });
    if (outcome.status !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(outcome)}`);
    ids.push(outcome.messageId);
  }
  acceptSeconds = (performance.now() - receiving) / 1000;
  // The last message received is delivered last but for a retry: wait for every one, newest first.
  for (const id of ids.reverse()) {
    for (;;) {
      const state = (await started.engine.getMessage(id))?.destinations[0]?.state;
      if (state === 'sent') break;
      if (state === 'error') throw new Error(`${kind} ${id} failed`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await started.engine.stop();
  await scheduler.stop();
  await started.store.close();
  await tmp.remove();
}

const loadAverage = () => loadavg()[0]!.toFixed(1);

const rows: string[] = [];
const goals: string[] = [];
for (const kind of ['mail', 'fax'] as const) {
  const bare = await measured(() => (kind === 'mail' ? bareMail(count) : bareFax(count)));
  // The A of the A/B: one delivery in flight, as an unordered queue had before its concurrency setting.
  const single = await measured(() => throughHub(kind, count, 1));
  const quarter = await measured(() => throughHub(kind, Math.round(count / 4)));
  const hub = await measured(() => throughHub(kind, count));
  const accepted = acceptSeconds;
  const rate = (n: number, s: number) => n / s;
  const ratio = rate(count, hub.seconds) / rate(count, bare.seconds);
  const singleRatio = rate(count, single.seconds) / rate(count, bare.seconds);
  const label = kind === 'mail' ? 'e-mail, 200 KB PDF (nodemailer)' : 'fax, 200 KB PDF (soap, delivered at 1st poll)';
  rows.push(
    `| ${label} | ${rate(count, bare.seconds).toFixed(1)} | ${rate(count, single.seconds).toFixed(1)} (${singleRatio.toFixed(2)}×) | ` +
      `${rate(count, hub.seconds).toFixed(1)} | ${ratio.toFixed(2)}× | ${accepted.toFixed(1)} of ${hub.seconds.toFixed(1)} s | ` +
      `${quarter.peakMiB.toFixed(0)} MiB | ${hub.peakMiB.toFixed(0)} MiB |`,
  );
  goals.push(
    `${kind}: throughput ${ratio >= 0.8 ? 'met' : 'missed'} (${ratio.toFixed(2)}× ≥ 0.8×), RSS ` +
      `${hub.peakMiB <= quarter.peakMiB * 1.1 ? 'flat' : 'not flat'} (${quarter.peakMiB.toFixed(0)} → ${hub.peakMiB.toFixed(0)} MiB for ${Math.round(count / 4)} → ${count} queued)`,
  );
  console.log(rows.at(-1));
}
clearInterval(sampler);
child.stdin!.end();

await writeSection(
  'outbound',
  `## Outbound: e-mail and fax (issue 13)

\`npm run bench -- outbound\` (${count} deliveries each; the fax status poll interval and the scheduler's
processEvery ${pollIntervalMs} ms for both paths). ${machineLine()}.

The hub path: each message received by a channel (message store), queued durably (unordered queue, one worker
with the destination's default concurrency of ${defaultConcurrency} deliveries in flight), sent by the \`smtp\` / \`soap-fax\`
destination; a fax counts once the scheduled status poll saw it delivered. Beside it in the same run, the same
hub path with \`concurrency: 1\` (one delivery in flight). The reference: a bare loop with the same library and
settings to the same peer (another process), one at a time. Peak RSS is this process's while the hub path ran
(default concurrency), with a quarter and with all of the deliveries queued. Load average at the end: ${loadAverage()}.

| path | bare loop / s | hub, 1 in flight / s (÷ bare) | hub / s | hub ÷ bare | hub: all accepted after | peak RSS, ${Math.round(count / 4)} queued | peak RSS, ${count} queued |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Goals (≥ 0.8× the bare loop, RSS flat in the number queued): ${goals.join('; ')}.
`,
);
process.exit(0);
