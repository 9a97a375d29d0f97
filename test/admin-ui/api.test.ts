// The admin API as an integration analyst uses it against a running hub: channels and revisions, a refused
// definition, pausing a destination, the message browser, resend, reprocess, and the audit trail.
import test from 'ava';
import { fixture, MllpTestClient, MllpTestListener } from '../hl7/mllp-peer.ts';
import { mllpRelayChannel, until, withControlId } from '../support/channels.ts';
import {
  api,
  defaultTestConfig,
  freePort,
  startHub,
  stopHub,
  waitHealthy,
  type HubProcess,
} from '../support/hub-process.ts';

// sha256 of "customer-token": a facility user, who must not reach the engine's administration.
const customerConfig = defaultTestConfig.replace(
  'auth:\n  tokens:\n',
  'auth:\n  tokens:\n    - name: facility-user\n      sha256: e771018d44b6443eef1443347f7cbbf6f90906871a5d8421027c090b051141c4\n      roles: [customer]\n    - name: valley-integration\n      sha256: bbde8d72b38e2bae5b127e234e5e66230d265a7e382c01a553c8e8642805858d\n      roles: [integration]\n      facilities: [VALLEYGEN]\n',
);

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function started(t: { teardown(fn: () => void): void }, ehrAnswer: () => 'AA' = () => 'AA') {
  const [inPort, outPort] = [await freePort(), await freePort()];
  const ehr = await MllpTestListener.start(ehrAnswer, outPort);
  t.teardown(() => void ehr.stop());
  const hub = await startHub({ channels: [mllpRelayChannel('relay', inPort, outPort)], config: customerConfig });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(inPort);
  t.teardown(() => void client.close());
  return { hub, ehr, client, inPort, outPort };
}

async function messagesWith(hub: HubProcess, query: string) {
  return json<{
    total: number;
    items: Array<{ _id: string; controlId?: string; destinations: Array<{ name: string; state: string }> }>;
  }>(await api(hub, `/api/messages?${query}`));
}

test('the channel list shows the seeded channel deployed with its queue, and needs a staff role', async (t) => {
  const { hub } = await started(t);
  const channels = await json<
    Array<{
      id: string;
      status: string;
      revision: number;
      queues: Array<{ destination: string; depth: number; paused: boolean }>;
    }>
  >(await api(hub, '/api/channels'));
  t.is(channels.length, 1);
  t.like(channels[0], { id: 'relay', status: 'deployed', revision: 1 });
  t.deepEqual(channels[0]?.queues, [{ destination: 'ehr', depth: 0, paused: false }]);
  t.is((await fetch(hub.url('/api/channels'))).status, 401);
  t.is((await fetch(hub.url('/api/channels'), { headers: { authorization: 'Bearer customer-token' } })).status, 403);
  // An integration token limited to one facility browses only that facility's messages (test/admin-ui/messages).
  const limited = await fetch(hub.url('/api/messages'), { headers: { authorization: 'Bearer limited-token' } });
  t.is(limited.status, 200);
  t.like(await limited.json(), { items: [], next: null, total: 0 });
  t.is((await fetch(hub.url('/api/channels'), { headers: { authorization: 'Bearer limited-token' } })).status, 403);
});

test('a bad definition is refused with its JSON path and the running revision stays', async (t) => {
  const { hub, inPort, outPort } = await started(t);
  const bad = mllpRelayChannel('relay', inPort, outPort);
  (bad.destinations[0]!.connector.settings as Record<string, unknown>)['port'] = 'eighty';
  const refused = await api(hub, '/api/channels/relay', { method: 'PUT', body: JSON.stringify(bad) });
  t.is(refused.status, 400);
  t.is(refused.headers.get('content-type'), 'application/problem+json');
  const reason = await json<{ status: number; detail: string; path: string }>(refused);
  t.is(reason.status, 400);
  t.is(reason.path, 'destinations[0].connector.settings.port');
  t.regex(reason.detail, /port/);
  const current = await json<{ revision: number; status: { status: string } }>(await api(hub, '/api/channels/relay'));
  t.is(current.revision, 1);
  t.is(current.status.status, 'deployed');

  const renamed = { ...mllpRelayChannel('relay', inPort, outPort), name: 'relay, renamed' };
  const saved = await api(hub, '/api/channels/relay', { method: 'PUT', body: JSON.stringify(renamed) });
  t.is(saved.status, 200);
  t.like(await json<{ revision: number }>(saved), { revision: 2 });
  const revisions = await json<Array<{ revision: number; author: string }>>(
    await api(hub, '/api/channels/relay/revisions'),
  );
  t.deepEqual(revisions.map((r) => r.revision).sort(), [1, 2]);
  t.true(revisions.some((r) => r.revision === 2 && r.author === 'test-admin'));
});

test('a paused destination holds its queue; resume delivers; the browser finds the message by control id', async (t) => {
  const { hub, ehr, client } = await started(t);
  const paused = await api(hub, '/api/channels/relay/destinations/ehr/pause', { method: 'POST' });
  t.is(paused.status, 200);
  const orm = await fixture('orm-o01.hl7');
  t.is((await client.exchange(withControlId(orm, 'PAUSE0001'))).get('MSA-1'), 'AA');
  await until(
    async () => (await json<Array<{ depth: number }>>(await api(hub, '/api/channels/relay/queues')))[0]?.depth === 1,
    5_000,
    'queue depth 1',
  );
  t.is(ehr.received.length, 0);
  await api(hub, '/api/channels/relay/destinations/ehr/resume', { method: 'POST' });
  await until(() => ehr.received.length === 1, 10_000, 'delivery after resume');
  const found = await messagesWith(hub, 'controlId=PAUSE0001');
  t.is(found.total, 1);
  await until(async () => (await messagesWith(hub, 'controlId=PAUSE0001&state=sent')).total === 1, 5_000, 'sent state');
  t.is((await messagesWith(hub, 'controlId=NOSUCHID')).total, 0);
  t.is((await api(hub, '/api/messages?state=lost')).status, 400);
});

test('resend and reprocess deliver again, and every change is in the audit trail', async (t) => {
  const { hub, ehr, client } = await started(t);
  const orm = await fixture('orm-o01.hl7');
  await client.exchange(withControlId(orm, 'AGAIN0001'));
  await until(() => ehr.received.length === 1, 10_000, 'first delivery');
  const [message] = (await messagesWith(hub, 'controlId=AGAIN0001')).items;
  if (!message) return t.fail('message not stored');

  const resent = await api(hub, `/api/messages/${message._id}/resend`, {
    method: 'POST',
    body: JSON.stringify({ destination: 'ehr' }),
  });
  t.is(resent.status, 202);
  await until(() => ehr.received.length === 2, 10_000, 'resend delivery');
  t.is(
    (
      await api(hub, `/api/messages/${message._id}/resend`, {
        method: 'POST',
        body: JSON.stringify({ destination: 'pacs' }),
      })
    ).status,
    404,
  );
  t.is(
    (
      await api(hub, '/api/messages/000000000000000000000000/resend', {
        method: 'POST',
        body: JSON.stringify({ destination: 'ehr' }),
      })
    ).status,
    404,
  );

  const reprocessed = await api(hub, `/api/messages/${message._id}/reprocess`, { method: 'POST' });
  t.is(reprocessed.status, 200);
  t.is((await json<{ status: string }>(reprocessed)).status, 'accepted');
  await until(() => ehr.received.length === 3, 10_000, 'reprocessed delivery');
  t.is((await messagesWith(hub, 'controlId=AGAIN0001')).total, 2, 'reprocessing makes a new message');

  const { items: audit } = await json<{ items: Array<{ user: string; action: string; target: string }> }>(
    await api(hub, '/api/audit'),
  );
  t.deepEqual(audit.map((a) => a.action).sort(), ['message.reprocess', 'message.resend']);
  t.true(audit.every((a) => a.user === 'test-admin' && a.target === `message:${message._id}`));
});
