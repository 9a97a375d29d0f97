// Nothing lost: messages the hub acknowledged are on disk, and deliveries queued when the hub is killed with
// SIGKILL are delivered, once each and in order, after it starts again. Real hub process, real MLLP sockets.
import test from 'ava';
import { fixture, MllpTestClient, MllpTestListener } from '../hl7/mllp-peer.ts';
import { mllpRelayChannel, until, withControlId } from '../support/channels.ts';
import { api, freePort, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

test('after a SIGKILL with deliveries queued, a restarted hub delivers every acknowledged message once, in order', async (t) => {
  const [inPort, outPort] = [await freePort(), await freePort()];
  const channel = mllpRelayChannel('relay', inPort, outPort);
  const hub = await startHub({ channels: [channel] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);

  // The EHR is down: every message is stored and queued, none delivered.
  const orm = await fixture('orm-o01.hl7');
  const client = await MllpTestClient.connect(inPort);
  const sent: string[] = [];
  for (let i = 0; i < 40; i++) {
    const controlId = `KILL${String(i).padStart(4, '0')}`;
    const ack = await client.exchange(withControlId(orm, controlId));
    t.is(ack.get('MSA-1'), 'AA', `ACK for ${controlId}`);
    t.is(ack.get('MSA-2'), controlId);
    sent.push(controlId);
  }
  await client.close();
  hub.child.kill('SIGKILL');
  await hub.exited;

  // The EHR comes back where the stored channel expects it.
  const ehr = await MllpTestListener.start(() => 'AA', outPort);
  t.teardown(() => ehr.stop());

  const again = await startHub({ channels: [channel], dataDir: hub.dataDir, port: hub.port });
  t.teardown(() => void stopHub(again, 'SIGKILL'));
  await waitHealthy(again);
  await until(() => ehr.received.length >= sent.length, 30_000, 'all queued messages at the EHR');
  t.deepEqual(
    ehr.received.map((m) => m.get('MSH-10')),
    sent,
    'once each, in order',
  );

  const stored = (await (await api(again, '/api/messages?channelId=relay&limit=500')).json()) as {
    total: number;
    items: Array<{ controlId?: string; destinations: Array<{ state: string }> }>;
  };
  t.is(stored.total, sent.length);
  t.deepEqual(stored.items.map((m) => m.controlId).sort(), [...sent].sort());
  await until(
    async () => {
      const page = (await (await api(again, '/api/messages?channelId=relay&state=sent&limit=500')).json()) as {
        total: number;
      };
      return page.total === sent.length;
    },
    10_000,
    'every delivery recorded as sent',
  );
  t.is(await stopHub(again), 0);
});
