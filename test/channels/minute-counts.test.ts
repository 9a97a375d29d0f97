// The dashboard's per-minute counts on the embedded store, with the clock moved by the test: counts land in the
// minute the message arrived, a refresh recounts the last five minutes (a late delivery shows), older minutes
// stay as counted, and a minute leaves the window after an hour.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import test from 'ava';
import { MessageStore } from '../../channels/message-store.ts';
import { MinuteCounts, totals } from '../../channels/minute-counts.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';
import { tempDir } from '../support/hub-process.ts';

const t0 = Date.parse('2026-01-05T10:00:00Z');

test('per-minute counts: recent minutes recounted, older ones kept, an hour-old minute dropped', async (t) => {
  const dir = await tempDir('minute-counts');
  const store = new EmbeddedStore(path.join(dir, 'hub.sqlite'));
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const messages = store.db.collection<{ _id: string } & Record<string, unknown>>('messages');
  const insert = (id: string, at: number, state: string, delivery: string) =>
    messages.insertOne({
      _id: id,
      channelId: 'orders',
      receivedAt: new Date(at),
      state,
      destinations: [{ state: delivery }],
    });
  await insert('a', t0 + 5_000, 'processed', 'sent');
  await insert('b', t0 + 65_000, 'filtered', 'filtered');
  await insert('c', t0 + 70_000, 'processed', 'queued');
  const counts = new MinuteCounts(new MessageStore(store.db));

  const first = await counts.refresh(t0 + 90_000);
  const orders = first.channels['orders']!;
  t.deepEqual(orders.received.slice(-2), [1, 2]);
  t.deepEqual(totals(orders), { received: 3, filtered: 1, sent: 1, errored: 0 });

  // Message c is delivered later, a's delivery turns out failed: both still within the recounted minutes.
  await messages.updateOne({ _id: 'c' }, { $set: { 'destinations.0.state': 'sent' } });
  await messages.updateOne({ _id: 'a' }, { $set: { 'destinations.0.state': 'error' } });
  const later = await counts.refresh(t0 + 3 * 60_000);
  t.deepEqual(totals(later.channels['orders']), { received: 3, filtered: 1, sent: 1, errored: 1 });
  // Counted once more after five minutes, then kept: a change to minute 0 after that does not show.
  await messages.updateOne({ _id: 'a' }, { $set: { 'destinations.0.state': 'sent' } });
  t.like(totals((await counts.refresh(t0 + 10 * 60_000)).channels['orders']), { sent: 2, errored: 0 });
  await messages.updateOne({ _id: 'a' }, { $set: { 'destinations.0.state': 'error' } });
  t.like(totals((await counts.refresh(t0 + 12 * 60_000)).channels['orders']), { sent: 2, errored: 0 });

  const hourLater = await counts.refresh(t0 + 60 * 60_000 + 30_000);
  t.deepEqual(totals(hourLater.channels['orders']), { received: 2, filtered: 1, sent: 1, errored: 0 });
  t.is(hourLater.minutes.length, 60);
});
