// The `soap-fax` destination against a SOAP fax gateway built with soap.listen from the shipped WSDL, through the
// channel engine's queue and the scheduler's status polls: a fax is sent only once the gateway reports it
// delivered (queued -> sending -> delivered on later polls); a failed run and a fault fail the delivery with the
// gateway's text; a busy gateway is retried; a job at the gateway survives a restart of the hub and is not sent
// twice.
import { getEventListeners, once } from 'node:events';
import { createServer } from 'node:http';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FaxJobs, faxJobKey } from '../../fax/fax-jobs.ts';
import { parseFax, soapFaxDestinationType } from '../../fax/soap-fax-destination.ts';
import { SoapFaxSender } from '../../fax/soap-fax-sender.ts';
import { parseSoapFaxSettings } from '../../fax/soap-fax-settings.ts';
import { openStore } from '../../store/open.ts';
import { Scheduler } from '../../runtime/scheduler.ts';
import { TestPeers, channelJson, jsonMessage, quietLog, startEngine, tempDir, waitFor } from '../channels/harness.ts';
import { type FaxScript, faxGateway, wsdlPath } from './fax-gateway.ts';

const pdf = Buffer.concat([
  Buffer.from('%PDF-1.4\n'),
  Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)),
]);

async function startHub(dataDir: string, endpoint: string, timeoutMs = 2000) {
  const peers = new TestPeers();
  const registry = peers.registry();
  const started = await startEngine(peers, dataDir, { registry });
  const scheduler = new Scheduler({
    db: started.store.db,
    log: quietLog,
    processEveryMs: 20,
    defaultLockLifetimeMs: 2000,
  });
  // A poll that runs after a restart before the channel is deployed again waits undeployedRetryMs (30 s by
  // default) and only then leaves the scheduler's collection; short here, so the restart test can see it go.
  const faxJobs = new FaxJobs(started.store.db, scheduler, quietLog, { undeployedRetryMs: 100 });
  registry.addDestination(soapFaxDestinationType(faxJobs));
  await scheduler.start();
  await started.engine.saveDefinition(
    channelJson('fax', [
      {
        name: 'fax',
        connector: { type: 'soap-fax', settings: { wsdl: wsdlPath, endpoint, pollIntervalMs: 30, timeoutMs } },
        queue: 'unordered',
        retry: { initialDelayMs: 20, maxDelayMs: 100, multiplier: 2 },
        maxAttempts: 3,
      },
    ]),
  );
  return {
    ...started,
    peers,
    close: async () => {
      await started.engine.stop();
      await scheduler.stop();
      await started.store.close();
    },
  };
}

async function setup(t: ExecutionContext, scripts: Record<string, FaxScript>) {
  const gateway = await faxGateway(t, scripts);
  const tmp = await tempDir('fax');
  const dataDir = path.join(tmp.dir, 'data');
  let hub = await startHub(dataDir, gateway.endpoint);
  t.teardown(async () => {
    await hub.close();
    await tmp.remove();
  });
  const delivery = async (id: string) => (await hub.engine.getMessage(id))?.destinations[0];
  return {
    gateway,
    delivery,
    restart: async () => {
      await hub.close();
      hub = await startHub(dataDir, gateway.endpoint);
    },
    send: async (to: string) => {
      const outcome = await hub.peers.receive(
        'fax',
        jsonMessage({
          to,
          coverText: 'Report for exam RSO-1, 1 page',
          fileName: 'report.pdf',
          documentBase64: pdf.toString('base64'),
        }),
      );
      if (outcome.status !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(outcome)}`);
      return outcome.messageId;
    },
    /** Status polls in the scheduler's collection, run or not: each one is removed once it has run. */
    pollJobs: () => hub.store.db.collection('agendaJobs').countDocuments({ name: 'fax-status-poll' }),
    faxJobs: () => hub.store.db.collection('fax_jobs').countDocuments({}),
    settled: async (id: string) => {
      await waitFor('the delivery to settle', async () =>
        ['sent', 'error'].includes((await delivery(id))?.state ?? ''),
      );
      return (await delivery(id))!;
    },
  };
}

/** The answers with repeats folded: the statuses the job went through, however many polls each took. */
function walked(answers: string[]): string[] {
  return answers.filter((status, i) => status !== answers[i - 1]);
}

test('a fax is sent once the gateway reports it delivered, after queued and sending', async (t) => {
  const held = { released: false };
  const hub = await setup(t, { '+15555550199': { statuses: ['queued', 'sending', 'delivered'], held } });
  const id = await hub.send('+15555550199');
  await waitFor('the gateway to report sending', () => hub.gateway.faxes[0]?.answers.includes('sending') ?? false);
  t.is((await hub.delivery(id))?.state, 'queued', 'not sent while the gateway is still sending');
  held.released = true;
  const delivery = await hub.settled(id);
  t.is(delivery.state, 'sent');
  t.is(delivery.attempts, 1);
  t.is(delivery.response, 'fax job job-1: delivered');
  t.is(hub.gateway.faxes.length, 1);
  const fax = hub.gateway.faxes[0]!;
  t.is(fax.recipient, '+15555550199');
  t.is(fax.coverText, 'Report for exam RSO-1, 1 page');
  t.true(fax.document.equals(pdf), 'the PDF arrives byte for byte');
  t.deepEqual(walked(fax.answers), ['queued', 'sending', 'delivered']);
  await waitFor('the finished polls to leave the scheduler', async () => (await hub.pollJobs()) === 0);
  t.is(await hub.faxJobs(), 0, 'fax_jobs holds only faxes in progress');
});

test('a run that ends in failed fails the delivery with the gateway status', async (t) => {
  const hub = await setup(t, { '+15555550198': { statuses: ['queued', 'sending', 'failed'] } });
  const delivery = await hub.settled(await hub.send('+15555550198'));
  t.is(delivery.state, 'error');
  t.is(delivery.attempts, 1, 'a failed fax is not sent again by itself');
  t.is(delivery.lastError, 'fax job job-1: failed (no answer after 3 tries)');
});

test('a SOAP fault fails the delivery with the fault string', async (t) => {
  const hub = await setup(t, { '+15555550197': { fault: { code: 'soap:Client', text: 'number not in service' } } });
  const delivery = await hub.settled(await hub.send('+15555550197'));
  t.is(delivery.state, 'error');
  t.is(delivery.attempts, 1);
  t.is(delivery.lastError, 'fax gateway fault: soap:Client: number not in service');
});

test('a busy gateway is retried and the fax goes out on the next attempt', async (t) => {
  const hub = await setup(t, { '+15555550196': { fault: { code: 'soap:Server', text: 'all lines busy', times: 1 } } });
  const delivery = await hub.settled(await hub.send('+15555550196'));
  t.is(delivery.state, 'sent');
  t.is(delivery.attempts, 2);
  t.is(hub.gateway.faxes.length, 1);
});

test('a job at the gateway survives a restart of the hub: polled on, delivered, and not faxed twice', async (t) => {
  const held = { released: false };
  const hub = await setup(t, { '+15555550195': { statuses: ['sending', 'delivered'], held } });
  const id = await hub.send('+15555550195');
  await waitFor('the first polls', () => (hub.gateway.faxes[0]?.polls ?? 0) >= 2);
  await hub.restart();
  held.released = true;
  const delivery = await hub.settled(id);
  t.is(delivery.state, 'sent');
  t.is(hub.gateway.faxes.length, 1, 'the restarted hub waited for the job it had, not a new fax');
  t.deepEqual(walked(hub.gateway.faxes[0]!.answers), ['sending', 'delivered']);
  await waitFor('the finished polls to leave the scheduler', async () => (await hub.pollJobs()) === 0);
});

test('a gateway that never answers times out and is retried; the engine stops cleanly', async (t) => {
  const silent = createServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => {
    silent.closeAllConnections();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const tmp = await tempDir('fax-silent');
  const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}/fax`;
  const hub = await startHub(path.join(tmp.dir, 'data'), endpoint, 300);
  const outcome = await hub.peers.receive(
    'fax',
    jsonMessage({ to: '+15555550194', coverText: 'x', documentBase64: pdf.toString('base64') }),
  );
  if (outcome.status !== 'accepted') throw new Error('not accepted');
  const delivery = async () => (await hub.engine.getMessage(outcome.messageId))?.destinations[0];
  await waitFor('two timed-out attempts', async () => ((await delivery())?.attempts ?? 0) >= 2);
  t.is((await delivery())?.state, 'queued', 'still queued for a retry');
  t.regex((await delivery())?.lastError ?? '', /timeout|ESOCKETTIMEDOUT|aborted/i);
  await hub.close();
  await tmp.remove();
});

test('a line that has faxed keeps nothing per fax: the wait of each fax leaves no listener on its stop signal', async (t) => {
  const held = { released: false };
  const gateway = await faxGateway(t, { '+15555550193': { statuses: ['sending', 'delivered'], held } });
  const tmp = await tempDir('fax-waits');
  const store = await openStore({ dataDir: path.join(tmp.dir, 'data'), log: quietLog });
  const scheduler = new Scheduler({ db: store.db, log: quietLog, processEveryMs: 20, defaultLockLifetimeMs: 2000 });
  const jobs = new FaxJobs(store.db, scheduler, quietLog);
  t.teardown(async () => {
    await scheduler.stop();
    await store.close();
    await tmp.remove();
  });
  await scheduler.start();
  const settings = parseSoapFaxSettings({ wsdl: wsdlPath, endpoint: gateway.endpoint, pollIntervalMs: 30 }, 'gateway');
  const sender = new SoapFaxSender(settings);
  jobs.register('ch', 'fax', sender);
  const where = { channelId: 'ch', destination: 'fax' };
  const fax = { to: '+15555550193', coverText: 'Report', fileName: 'report.pdf', document: pdf };
  const stopping = new AbortController();
  held.released = true;
  for (const id of ['m1', 'm2', 'm3']) {
    const result = await sender.send(jobs, faxJobKey('ch', 'fax', id), where, fax, stopping.signal);
    t.is(result.status, 'sent');
  }
  t.is(getEventListeners(stopping.signal, 'abort').length, 0, 'no wait of a finished fax listens for the stop');
  // A wait cut short by the stop ends as not sent and lets go of the signal too.
  held.released = false;
  const waiting = sender.send(jobs, faxJobKey('ch', 'fax', 'm4'), where, fax, stopping.signal);
  await waitFor('the fourth fax to be polled', () => (gateway.faxes[3]?.polls ?? 0) >= 1);
  t.is(getEventListeners(stopping.signal, 'abort').length, 1, 'the fax in progress waits for the stop');
  stopping.abort();
  t.is((await waiting).status, 'not-sent');
  t.is(getEventListeners(stopping.signal, 'abort').length, 0);
  t.is(gateway.faxes.length, 4);
});

test('a fax whose document is not base64 is refused naming the field; base64 with line breaks is taken as it is', (t) => {
  const fax = { to: '+15555550199', coverText: 'Report' };
  t.throws(() => parseFax({ ...fax, documentBase64: 'JVBERi0x-_LjQ' }, 'content'), {
    message: /content\.documentBase64: expected base64 text/,
  });
  const wrapped = `${pdf.toString('base64').slice(0, 76)}\r\n${pdf.toString('base64').slice(76)}`;
  t.deepEqual(parseFax({ ...fax, documentBase64: wrapped }, 'content').document, { base64: wrapped });
});
