// Every MLLP destination of a process sends on one thread (mllp-sender-thread.ts): node-hl7-client is loaded once,
// not once per destination. Sharing must not couple the destinations: one whose receiver never answers does not
// hold back another, and the thread ends when the last destination stops, or when it has been idle a while.
import test from 'ava';
import { mllpDestinationType } from '../../hl7/mllp-destination.ts';
import { senderThread } from '../../hl7/mllp-sender-thread.ts';
import { setThreadIdleSeconds } from '../../runtime/idle-thread.ts';
import { createLogger } from '../../runtime/log.ts';
import { until } from '../support/channels.ts';
import { fixture, MllpTestListener, type ListenerAnswer } from './mllp-peer.ts';

const log = createLogger({ test: 'mllp-sender-thread' });

async function destinationTo(t: import('ava').ExecutionContext, name: string, answer: () => ListenerAnswer) {
  const listener = await MllpTestListener.start(answer);
  t.teardown(() => listener.stop());
  const settings = mllpDestinationType.parseSettings(
    { host: '127.0.0.1', port: listener.port, ackTimeoutMs: 60_000, connectTimeoutMs: 5000 },
    name,
  );
  const destination = mllpDestinationType.create(settings, { channelId: 'c1', destinationName: name, log });
  return { listener, destination };
}

async function message(id: string) {
  const content = (await fixture('orm-o01.hl7')).toString('utf8').replace(/\|MSG[A-Z0-9]+\|/, `|${id}|`);
  return { messageId: id, channelId: 'c1', destinationName: 'd', content, dataType: 'hl7v2', attempt: 1 };
}

test.serial('two destinations share one thread; a silent receiver does not hold the other back', async (t) => {
  t.is(senderThread.threads, 0, 'no thread before anything is sent');
  const silent = await destinationTo(t, 'silent', () => 'none');
  const answering = await destinationTo(t, 'answering', () => 'AA');
  let stuckEnded = false;
  const stuck = silent.destination.send(await message('S1')).finally(() => (stuckEnded = true));
  for (const id of ['A1', 'A2', 'A3']) t.is((await answering.destination.send(await message(id))).status, 'sent');
  t.deepEqual(
    answering.listener.received.map((m) => m.get('MSH-10')),
    ['A1', 'A2', 'A3'],
  );
  t.false(stuckEnded, 'the silent destination is still waiting for its ACK while the other delivered');
  t.is(senderThread.threads, 1, 'one thread for both destinations');
  t.is(silent.listener.received.length, 1, 'the silent receiver got its message and is still being waited for');

  await answering.destination.stop();
  t.is(senderThread.threads, 1, 'the thread stays while a destination is left');
  // Stopping gives up the ACK wait: the message stays queued (not-sent or retry), never counted as sent.
  silent.destination.stopping?.();
  await silent.destination.stop();
  t.not((await stuck).status, 'sent');
  t.is(senderThread.threads, 0, 'the thread ends with the last destination');
});

test.serial('a destination sends again after the others stopped and the thread ended', async (t) => {
  const first = await destinationTo(t, 'first', () => 'AA');
  t.is((await first.destination.send(await message('F1'))).status, 'sent');
  await first.destination.stop();
  t.is(senderThread.threads, 0);
  const second = await destinationTo(t, 'second', () => 'AA');
  t.is((await second.destination.send(await message('N1'))).status, 'sent');
  t.is(senderThread.threads, 1, 'a new thread for the new destination');
  await second.destination.stop();
  t.is(senderThread.threads, 0);
});

test.serial('an idle thread ends and closes its connection; the next send starts it and connects again', async (t) => {
  setThreadIdleSeconds(0.3);
  t.teardown(() => setThreadIdleSeconds(30));
  const { listener, destination } = await destinationTo(t, 'idle', () => 'AA');
  t.teardown(() => destination.stop());
  t.is((await destination.send(await message('I1'))).status, 'sent');
  t.is(senderThread.threads, 1);
  await until(() => senderThread.threads === 0 && listener.connections === 0, 10_000, 'the idle thread to end');
  t.is((await destination.send(await message('I2'))).status, 'sent', 'a destination outlives its idle thread');
  t.is(senderThread.threads, 1);
  t.deepEqual(
    listener.received.map((m) => m.get('MSH-10')),
    ['I1', 'I2'],
  );
});
