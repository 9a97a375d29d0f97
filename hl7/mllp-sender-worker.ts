// The thread side of MllpSender (mllp-sender.ts): one MllpDestination, fed runs of messages by the engine's thread.
// Each message waits for its ACK here, on this thread's own event loop, so the next one goes out as soon as the
// ACK is in, however busy the engine's thread is with receiving and storing. Logs go back to the engine's
// logger (its level, its sink, its rules about PHI).
import { parentPort, workerData } from 'node:worker_threads';
import type { OutboundMessage, SendResult } from '../channels/connector.ts';
import type { LogFields, Logger } from '../runtime/log.ts';
import { errorText } from '../runtime/log.ts';
import { MllpDestination, type MllpDestinationSettings } from './mllp-destination.ts';
import type { FromSender, ToSender } from './mllp-sender.ts';

const port = parentPort;
if (port === null) throw new Error('mllp-sender-worker.ts runs as a worker thread only');
const { settings, channelId, destinationName } = workerData as {
  settings: MllpDestinationSettings;
  channelId: string;
  destinationName: string;
};

function post(message: FromSender): void {
  port!.postMessage(message);
}

function forwardingLogger(bound: LogFields): Logger {
  return {
    debug: (msg, fields, phi) =>
      post({ kind: 'log', level: 'debug', msg, fields: { ...bound, ...fields }, ...(phi ? { phi } : {}) }),
    info: (msg, fields) => post({ kind: 'log', level: 'info', msg, fields: { ...bound, ...fields } }),
    warn: (msg, fields) => post({ kind: 'log', level: 'warn', msg, fields: { ...bound, ...fields } }),
    error: (msg, fields) => post({ kind: 'log', level: 'error', msg, fields: { ...bound, ...fields } }),
    child: (fields) => forwardingLogger({ ...bound, ...fields }),
  };
}

const destination = new MllpDestination(settings, { channelId, destinationName, log: forwardingLogger({}) });
let work: Promise<void> = Promise.resolve();
/** The engine is stopping: the rest of a run is left unreported, so it stays at the head of the queue. */
let stopping = false;

async function run(id: number, messages: OutboundMessage[]): Promise<void> {
  for (const [index, message] of messages.entries()) {
    if (stopping) break;
    let result: SendResult;
    try {
      result = await destination.send(message);
    } catch (error) {
      result = { status: 'retry', error: errorText(error) };
    }
    post({ kind: 'result', id, index, result });
    if (result.status !== 'sent') break;
  }
  post({ kind: 'done', id });
}

port.on('message', (message: ToSender) => {
  if (message.kind === 'send') {
    work = work.then(() => run(message.id, message.messages));
    return;
  }
  if (message.kind === 'stopping') {
    // Not queued behind the run in hand: that run is what must end sooner.
    stopping = true;
    destination.stopping();
    return;
  }
  work = work.then(async () => {
    await destination.stop();
    post({ kind: 'stopped' });
    port.close();
  });
});
