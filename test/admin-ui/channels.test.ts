// The channel editor's operations against a running hub: create a channel undeployed, clone one, refuse to delete
// a deployed one, revert to an earlier revision, and test a channel with a sample ORM without storing anything.
import test from 'ava';
import { fixture } from '../hl7/mllp-peer.ts';
import { mllpRelayChannel } from '../support/channels.ts';
import { api, freePort, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function started(t: { teardown(fn: () => void): void }) {
  const [inPort, outPort] = [await freePort(), await freePort()];
  const hub = await startHub({ channels: [mllpRelayChannel('relay', inPort, outPort)] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  return { hub, inPort, outPort };
}

const post = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

test('create, clone and delete: new channels wait undeployed, a deployed one cannot be deleted', async (t) => {
  const { hub, outPort } = await started(t);
  const second = mllpRelayChannel('second', await freePort(), outPort);
  const created = await api(hub, '/api/channels', post(second));
  t.is(created.status, 201);
  t.deepEqual(await created.json(), { id: 'second', revision: 1, status: 'undeployed' });
  const again = await api(hub, '/api/channels', post(second));
  t.is(again.status, 409);
  const bad = await api(hub, '/api/channels', post({ ...second, id: 'third', destinations: 'none' }));
  t.like(await bad.json(), { status: 400, path: 'destinations' });

  const cloned = await api(hub, '/api/channels/relay/clone', post({ id: 'relay-copy' }));
  t.is(cloned.status, 201);
  const copy = await json<{ revision: number; definition: { id: string; name: string } }>(
    await api(hub, '/api/channels/relay-copy/revisions/1'),
  );
  t.like(copy.definition, { id: 'relay-copy', name: 'relay relay (copy)' });
  t.is((await api(hub, '/api/channels/nope/clone', post({ id: 'x' }))).status, 404);

  const list = await json<Array<{ id: string; status: string }>>(await api(hub, '/api/channels'));
  t.deepEqual(list.map((c) => `${c.id} ${c.status}`).sort(), [
    'relay deployed',
    'relay-copy undeployed',
    'second undeployed',
  ]);

  const refused = await api(hub, '/api/channels/relay', { method: 'DELETE' });
  t.is(refused.status, 409);
  t.regex((await json<{ error: string }>(refused)).error, /deployed/);
  t.is((await api(hub, '/api/channels/relay-copy', { method: 'DELETE' })).status, 204);
  t.is((await api(hub, '/api/channels/relay-copy', { method: 'DELETE' })).status, 404);
  t.is((await api(hub, '/api/channels/relay-copy/revisions/1')).status, 404);

  const { items } = await json<{ items: Array<{ action: string; target: string; before: unknown; after: unknown }> }>(
    await api(hub, '/api/audit?action=channel.'),
  );
  t.deepEqual(
    items.map((e) => `${e.action} ${e.target}`),
    ['channel.delete channel:relay-copy', 'channel.clone channel:relay-copy', 'channel.create channel:second'],
  );
  t.like(items[0], { before: { id: 'relay-copy' }, after: null });
});

test('revert saves an earlier revision as the newest and redeploys it, with before and after audited', async (t) => {
  const { hub, inPort, outPort } = await started(t);
  const renamed = mllpRelayChannel('relay', inPort, outPort, { name: 'relay, renamed' });
  t.is((await api(hub, '/api/channels/relay', { method: 'PUT', body: JSON.stringify(renamed) })).status, 200);
  const reverted = await api(hub, '/api/channels/relay/revert', post({ revision: 1 }));
  t.is(reverted.status, 200);
  t.like(await reverted.json(), {
    id: 'relay',
    revision: 3,
    revertedTo: 1,
    status: { status: 'deployed', revision: 3 },
  });
  const current = await json<{ revision: number; definition: { name: string } }>(await api(hub, '/api/channels/relay'));
  t.is(current.revision, 3);
  t.is(current.definition.name, 'relay relay');
  const second = await json<{ definition: { name: string } }>(await api(hub, '/api/channels/relay/revisions/2'));
  t.is(second.definition.name, 'relay, renamed');
  t.is((await api(hub, '/api/channels/relay/revert', post({ revision: 9 }))).status, 404);
  const { items } = await json<{ items: Array<{ before: { name: string }; after: { name: string } }> }>(
    await api(hub, '/api/audit?action=channel.revert'),
  );
  t.is(items[0]?.before.name, 'relay, renamed');
  t.is(items[0]?.after.name, 'relay relay');
});

test('testing a channel with a sample ORM shows the mapped output per destination and stores nothing', async (t) => {
  const { hub, inPort, outPort } = await started(t);
  // Pasted into a browser, the segments end in line feeds.
  const orm = (await fixture('orm-o01.hl7')).toString('latin1').replace(/\r/g, '\n');
  const plain = await json<{ filtered: boolean; output: string; error: null; destinations: unknown[] }>(
    await api(hub, '/api/channels/test', post({ channelId: 'relay', message: orm })),
  );
  t.false(plain.filtered);
  t.is(plain.error, null);
  t.regex(plain.output, /^MSH\|\^~\\&\|RIS\|NORTH CLINIC/);
  t.like(plain.destinations, [{ name: 'ehr', filtered: false, error: null }]);

  const edited = mllpRelayChannel('relay', inPort, outPort, {
    map: { mappings: [{ target: 'MSH-5', value: 'VALLEY EHR' }] },
  });
  (edited.destinations[0] as Record<string, unknown>)['filter'] = { path: 'PV1-2', operator: 'eq', value: 'I' };
  const mapped = await json<{ output: string; destinations: Array<{ filtered: boolean; output: null }> }>(
    await api(hub, '/api/channels/test', post({ channel: edited, message: orm })),
  );
  t.regex(mapped.output, /^MSH\|\^~\\&\|RIS\|NORTH CLINIC\|VALLEY EHR\|/);
  t.like(mapped.destinations, [{ filtered: true, output: null }], 'the destination filter wants inpatients only');

  const dropped = { ...edited, filter: { path: 'MSH-9.1', operator: 'eq', value: 'ADT' } };
  t.like(await json(await api(hub, '/api/channels/test', post({ channel: dropped, message: orm }))), {
    filtered: true,
    output: null,
  });
  const broken = await json<{ error: string }>(
    await api(hub, '/api/channels/test', post({ channelId: 'relay', message: 'PID|1||x', dataType: 'hl7v2' })),
  );
  t.regex(broken.error, /MSH/);
  const invalid = await api(hub, '/api/channels/test', post({ channel: { ...edited, source: 1 }, message: orm }));
  t.like(await invalid.json(), { status: 400, path: 'source' });

  const messages = await json<{ total: number }>(await api(hub, '/api/messages'));
  t.is(messages.total, 0, 'a dry run stores nothing');
});
