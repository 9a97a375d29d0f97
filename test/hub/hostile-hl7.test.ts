// Issue 10's hostile HL7 order against the real hub process: one message with 100,000 repetitions must neither
// stall the hub while it is processed nor keep a restarted hub from serving /health while it is replayed.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { hostileOrder } from '../support/hostile-hl7.ts';
import { api, freePort, repoRoot, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';

async function facility(): Promise<{ code: string } & Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(repoRoot, 'config', 'facilities', 'valley-general.json'), 'utf8'));
}

/** Orders in on MLLP (repetitions per field raised so a 100,000-repetition PID-5 gets in) to `exams`. */
function ordersChannel(port: number, exams: Record<string, unknown>) {
  return {
    id: 'orders',
    name: 'orders',
    enabled: true,
    source: { type: 'mllp', settings: { host: '127.0.0.1', port, messageLimits: { maxRepetitions: 200_000 } } },
    destinations: [
      {
        name: 'exams',
        connector: exams,
        queue: 'ordered',
        retry: { initialDelayMs: 200, maxDelayMs: 1000, multiplier: 2 },
        maxAttempts: 0,
      },
    ],
  };
}

const toExams = { type: 'rso-exams', settings: { timeZone: 'UTC' } };

/** An order whose patient has one record number and 100,000 names, which the mapping reads one by one. */
function manyNames(controlId: string): Buffer {
  const names = Array.from({ length: 100_000 }, (_, i) => `DOE${i}^J`).join('~');
  return Buffer.from(
    hostileOrder(1, { controlId, repetition: 'MRN-H1^^^VALLEYGEN^MR' }).replace('|DOE^JOHN|', `|${names}|`),
    'latin1',
  );
}

/** Polls /health until it answers at all (503 while the hub still deploys its channels); returns the status. */
async function answered(hub: HubProcess): Promise<number> {
  for (;;) {
    if (hub.child.exitCode !== null) throw new Error(`hub exited: ${hub.stderr()}`);
    try {
      return (await fetch(hub.url('/health'))).status;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function deliveryState(hub: HubProcess, controlId: string): Promise<string | undefined> {
  const page = (await (await api(hub, `/api/messages?channelId=orders&controlId=${controlId}`)).json()) as {
    items: Array<{ destinations: Array<{ state: string }> }>;
  };
  return page.items[0]?.destinations[0]?.state;
}

/** Polls /health until `done` resolves; every answer must be a 200. Returns how many answers came. */
async function healthWhile(hub: HubProcess, done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => (finished = true));
  let answers = 0;
  while (!finished) {
    const response = await fetch(hub.url('/health'));
    if (response.status !== 200) throw new Error(`/health answered ${response.status}`);
    answers++;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return answers;
}

test('the 100,000-repetition ORM is answered, /health answers while and after it is processed, and the order becomes an exam', async (t) => {
  const port = await freePort();
  const hub = await startHub({ channels: [ordersChannel(port, toExams)], facilities: [await facility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(port);
  t.teardown(() => client.socket.destroy());

  // PID-3 repeated 100,000 times: past maxIdentifiersPerPatient, answered at once, stored as errored.
  const refused = await client.exchange(Buffer.from(hostileOrder(100_000, { controlId: 'HOSTILE-IDS' }), 'latin1'));
  t.is(refused.get('MSA-1'), 'AE');
  t.regex(refused.get('ERR-8') ?? '', /PID-3 has more than 100 repetitions; the limit maxIdentifiersPerPatient is 100/);
  t.is((await fetch(hub.url('/health'))).status, 200);

  // PID-5 repeated 100,000 times, within this channel's limits: accepted, then mapped by the exams destination.
  const ack = await client.exchange(manyNames('HOSTILE-NAMES'));
  t.is(ack.get('MSA-1'), 'AA');
  const processed = until(
    async () => (await deliveryState(hub, 'HOSTILE-NAMES')) === 'sent',
    60_000,
    'the order applied to exams',
  );
  t.true((await healthWhile(hub, processed)) > 0);
  await processed;
  t.is((await fetch(hub.url('/health'))).status, 200);
  t.is(await deliveryState(hub, 'HOSTILE-IDS'), 'received', 'the refused message went to no destination');
});

test('a hub killed with the hostile order received but not processed serves /health after restart, before it replays the order', async (t) => {
  const port = await freePort();
  // First run: the exams destination is an MLLP peer that is not there, so the order stays queued.
  const unreachable = { type: 'mllp', settings: { host: '127.0.0.1', port: await freePort(), connectTimeoutMs: 200 } };
  const first = await startHub({ channels: [ordersChannel(port, unreachable)], facilities: [await facility()] });
  t.teardown(() => void stopHub(first, 'SIGKILL'));
  await waitHealthy(first);
  const client = await MllpTestClient.connect(port);
  const ack = await client.exchange(manyNames('REPLAY-1'));
  t.is(ack.get('MSA-1'), 'AA');
  client.socket.destroy();
  first.child.kill('SIGKILL');
  await first.exited;

  // Second run on the same data: `exams` is the RSO exams now, so the start replays the order into it.
  const again = await startHub({
    channels: [ordersChannel(port, toExams)],
    facilities: [await facility()],
    dataDir: first.dataDir,
  });
  t.teardown(() => void stopHub(again, 'SIGKILL'));
  const firstAnswer = await answered(again);
  t.true(firstAnswer === 200 || firstAnswer === 503, 'up, or up and still deploying its channels');
  await waitHealthy(again);
  await until(
    async () => (await deliveryState(again, 'REPLAY-1')) === 'sent',
    60_000,
    'the replayed order applied to exams',
  );
  const lines = again.stdout().split('\n');
  const listening = lines.findIndex((line) => line.includes('"http listening"'));
  const deployed = lines.findIndex((line) => line.includes('"channel deployed"') && line.includes('"orders"'));
  t.true(listening >= 0 && deployed > listening, 'HTTP listened before the channel (and its queue) started');
  t.is(await stopHub(again), 0);
});
