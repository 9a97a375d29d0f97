// The dashboard an analyst keeps open: messages sent over MLLP by the test show up in the last hour's counts and
// the per-minute series, with the channel's queue and its listeners up.
import test from 'ava';
import { fixture, MllpTestClient, MllpTestListener } from '../hl7/mllp-peer.ts';
import { mllpRelayChannel, until, withControlId } from '../support/channels.ts';
import { api, freePort, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

interface Dashboard {
  minutes: string[];
  channels: Array<{
    id: string;
    status: string;
    lastHour: { received: number; filtered: number; sent: number; errored: number };
    series: { received: number[]; sent: number[] };
    queues: Array<{ destination: string; depth: number; state: string }>;
  }>;
  listeners: Array<{ name: string; up: boolean }>;
}

test('the dashboard counts what arrived over MLLP, per minute, with queues and listeners', async (t) => {
  const [inPort, outPort] = [await freePort(), await freePort()];
  const ehr = await MllpTestListener.start(() => 'AA', outPort);
  t.teardown(() => void ehr.stop());
  const channel = mllpRelayChannel('relay', inPort, outPort, {
    filter: { path: 'MSH-9.1', operator: 'ne', value: 'ADT' },
  });
  const hub = await startHub({ channels: [channel] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const before = (await (await api(hub, '/api/dashboard')).json()) as Dashboard;
  t.like(before.channels[0], { id: 'relay', status: 'deployed', lastHour: { received: 0 } });

  const client = await MllpTestClient.connect(inPort);
  t.teardown(() => void client.close());
  const orm = await fixture('orm-o01.hl7');
  for (const id of ['DASH1', 'DASH2']) await client.exchange(withControlId(orm, id));
  await client.exchange(await fixture('adt-a04-latin1.hl7'));

  let dashboard = before;
  await until(
    async () => {
      dashboard = (await (await api(hub, '/api/dashboard')).json()) as Dashboard;
      return dashboard.channels[0]?.lastHour.sent === 2;
    },
    15_000,
    'two sent on the dashboard',
  );
  const relay = dashboard.channels[0]!;
  t.deepEqual(relay.lastHour, { received: 3, filtered: 1, sent: 2, errored: 0 });
  t.is(dashboard.minutes.length, 60);
  t.is(relay.series.received.length, 60);
  t.is(
    relay.series.received.reduce((a, b) => a + b, 0),
    3,
  );
  t.true(relay.series.received.slice(-2).reduce((a, b) => a + b, 0) === 3, 'in the last minute or two');
  t.like(relay.queues, [{ destination: 'ehr', depth: 0, state: 'running' }]);
  t.like(
    dashboard.listeners.find((l) => l.name === 'channel relay'),
    { up: true },
  );
  t.like(
    dashboard.listeners.find((l) => l.name === 'dicom'),
    { up: true },
  );
  t.is(ehr.received.length, 2);
});
