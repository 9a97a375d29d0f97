// Queues as an analyst works them: a receiver that was down has messages waiting out a long backoff; the analyst
// gives one up with a reason, and retries the other now instead of waiting ten minutes.
import test from 'ava';
import { fixture, MllpTestClient, MllpTestListener } from '../hl7/mllp-peer.ts';
import { mllpRelayChannel, until, withControlId } from '../support/channels.ts';
import { api, freePort, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';

interface Queue {
  channelId: string;
  destination: string;
  state: string;
  depth: number;
  oldest: string | null;
  attempts: number;
  lastError: string | null;
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function messageId(hub: HubProcess, controlId: string): Promise<string> {
  const page = await json<{ items: Array<{ _id: string }> }>(await api(hub, `/api/messages?controlId=${controlId}`));
  return page.items[0]!._id;
}

test('give up one queued message with a reason, and retry the other now instead of after its backoff', async (t) => {
  const [inPort, outPort] = [await freePort(), await freePort()];
  const channel = mllpRelayChannel('relay', inPort, outPort);
  channel.destinations[0]!.retry = { initialDelayMs: 600_000, maxDelayMs: 600_000, multiplier: 1 };
  const hub = await startHub({ channels: [channel] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(inPort);
  t.teardown(() => void client.close());
  const orm = await fixture('orm-o01.hl7');
  for (const id of ['GIVEUP1', 'RETRY2']) t.is((await client.exchange(withControlId(orm, id))).get('MSA-1'), 'AA');

  let queue: Queue | undefined;
  await until(
    async () => {
      [queue] = await json<Queue[]>(await api(hub, '/api/queues'));
      return queue?.attempts === 1;
    },
    10_000,
    'the head failed once',
  );
  t.like(queue, { channelId: 'relay', destination: 'ehr', state: 'running', depth: 2 });
  t.truthy(queue?.oldest);
  t.truthy(queue?.lastError);
  const waiting = await json<Array<{ messageId: string; attempts: number }>>(
    await api(hub, '/api/queues/relay/ehr/messages'),
  );
  const [giveUpId, retryId] = [await messageId(hub, 'GIVEUP1'), await messageId(hub, 'RETRY2')];
  t.deepEqual(
    waiting.map((m) => m.messageId),
    [giveUpId, retryId],
  );

  const giveUpPath = `/api/queues/relay/ehr/messages/${giveUpId}/give-up`;
  const noReason = await api(hub, giveUpPath, { method: 'POST', body: JSON.stringify({ reason: ' ' }) });
  t.like(await noReason.json(), { status: 400, path: 'reason' });
  const reason = 'duplicate order, the RIS has it already';
  const given = await api(hub, giveUpPath, { method: 'POST', body: JSON.stringify({ reason }) });
  t.is(given.status, 200);
  t.deepEqual(await given.json(), { givenUp: true, attempts: 1 });
  t.is((await api(hub, giveUpPath, { method: 'POST', body: JSON.stringify({ reason }) })).status, 404);
  const stored = await json<{ destinations: Array<{ state: string; lastError: string }> }>(
    await api(hub, `/api/messages/${giveUpId}`),
  );
  t.is(stored.destinations[0]?.state, 'error');
  t.regex(stored.destinations[0]?.lastError ?? '', /^given up: duplicate order/);

  // Now at the head, it fails once too and waits out its ten minutes before the receiver is back.
  await until(
    async () => {
      const [head] = await json<Array<{ attempts: number }>>(await api(hub, '/api/queues/relay/ehr/messages'));
      return head?.attempts === 1;
    },
    10_000,
    'the second message failed once',
  );
  const ehr = await MllpTestListener.start(() => 'AA', outPort);
  t.teardown(() => void ehr.stop());
  const retried = await api(hub, `/api/queues/relay/ehr/messages/${retryId}/retry`, { method: 'POST' });
  t.is(retried.status, 202);
  await until(() => ehr.received.length === 1, 15_000, 'the retried message delivered without its 10 minute wait');
  t.is(ehr.received[0]?.get('MSH-10'), 'RETRY2', 'the given-up message is not sent');
  await until(
    async () => (await json<Queue[]>(await api(hub, '/api/queues')))[0]?.depth === 0,
    5_000,
    'the queue empty',
  );
  t.is((await api(hub, `/api/queues/relay/ehr/messages/${retryId}/retry`, { method: 'POST' })).status, 404);

  const audit = await json<{ items: Array<{ action: string; detail: Record<string, unknown> }> }>(
    await api(hub, '/api/audit?action=queue.'),
  );
  t.deepEqual(
    audit.items.map((e) => e.action),
    ['queue.retry', 'queue.give-up'],
  );
  t.like(audit.items[1]?.detail, { reason, destination: 'ehr', channel: 'relay' });
});
