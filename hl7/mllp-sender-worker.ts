// The thread side of the MLLP sender thread (mllp-sender-thread.ts): an MllpDestination per destination of the
// process, each fed runs of messages by the engine's thread. Each message waits for its ACK here, on this thread's
// own event loop, so the next one goes out as soon as the ACK is in, however busy the engine's thread is with
// receiving and storing. Logs go back to each destination's logger (its level, its sink, its rules about PHI).
import { parentPort } from 'node:worker_threads';
import type { OutboundMessage, SendResult } from '../channels/connector.ts';
import type { LogFields, Logger } from '../runtime/log.ts';
import { errorText } from '../runtime/log.ts';
import { MllpDestination } from './mllp-destination.ts';
import type { FromThread, ToThread } from './mllp-sender-thread.ts';

const port = parentPort;
if (port === null) throw new Error('mllp-sender-worker.ts runs as a worker thread only');

function post(message: FromThread): void {
  port!.postMessage(message);
}

function forwardingLogger(key: number, bound: LogFields): Logger {
  return {
    debug: (msg, fields, phi) =>
      post({ kind: 'log', key, level: 'debug', msg, fields: { ...bound, ...fields }, ...(phi ? { phi } : {}) }),
    info: (msg, fields) => post({ kind: 'log', key, level: 'info', msg, fields: { ...bound, ...fields } }),
    warn: (msg, fields) => post({ kind: 'log', key, level: 'warn', msg, fields: { ...bound, ...fields } }),
    error: (msg, fields) => post({ kind: 'log', key, level: 'error', msg, fields: { ...bound, ...fields } }),
    child: (fields) => forwardingLogger(key, { ...bound, ...fields }),
  };
}

interface Open {
  destination: MllpDestination;
  /** This destination's runs, one after another; other destinations' runs do not wait for them. */
  work: Promise<void>;
  /** The engine is stopping: the rest of a run is left unreported, so it stays at the head of the queue. */
  stopping: boolean;
}

const open = new Map<number, Open>();

async function run(key: number, entry: Open, id: number, messages: OutboundMessage[]): Promise<void> {
  for (const [index, message] of messages.entries()) {
    if (entry.stopping) break;
    let result: SendResult;
    try {
      result = await entry.destination.send(message);
    } catch (error) {
      result = { status: 'retry', error: errorText(error) };
    }
    post({ kind: 'result', key, id, index, result });
    if (result.status !== 'sent') break;
  }
  post({ kind: 'done', key, id });
}

port.on('message', (message: ToThread) => {
  if (message.kind === 'open') {
    const { key, settings, channelId, destinationName } = message;
    const log = forwardingLogger(key, {});
    const destination = new MllpDestination(settings, { channelId, destinationName, log });
    open.set(key, { destination, work: Promise.resolve(), stopping: false });
    return;
  }
  const entry = open.get(message.key);
  if (entry === undefined) return;
  if (message.kind === 'send') {
    entry.work = entry.work.then(() => run(message.key, entry, message.id, message.messages));
    return;
  }
  if (message.kind === 'stopping') {
    // Not queued behind the run in hand: that run is what must end sooner.
    entry.stopping = true;
    entry.destination.stopping();
    return;
  }
  entry.work = entry.work.then(async () => {
    await entry.destination.stop();
    open.delete(message.key);
    post({ kind: 'closed', key: message.key });
  });
});
