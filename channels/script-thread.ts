// Map scripts run on a thread of their own with a heap limit. A script on the engine's thread could allocate
// until the whole hub ran out of memory and died (the time limit stops a loop, not a 2 GB array built in 200
// ms); on this thread it ends only the thread, the step fails with a reason, and the next script gets a new
// thread. The pipeline stays synchronous: the engine posts the request and blocks on a shared flag
// (Atomics.wait) until the answer is on the port, as it blocked on vm.runInContext before, and reads it with
// receiveMessageOnPort. One thread per process, shared by every channel; it ends after `hub.threadIdleSeconds`
// without a script (runtime/idle-thread.ts).
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { IdleEnd } from '../runtime/idle-thread.ts';
import type { SandboxOutcome } from './script-sandbox.ts';

export interface ScriptRequest {
  id: number;
  source: string;
  inputJson: string;
  timeoutMs: number;
}

export interface ScriptReply {
  id: number;
  outcome: SandboxOutcome;
}

/** The script thread's heap: a map script transforms one message, it has no business with more. */
export const scriptHeapLimitMb = 64;
/** Beyond the script's own time limit: a thread ended by its heap limit cannot say so, it just never answers. */
const graceMs = 500;
/** How long a new thread may take to start (it loads the sandbox module); the first script waits for it. */
const startTimeoutMs = 10_000;
/** The flag's value once the thread listens (script-worker.ts sets it). */
export const scriptThreadReady = -1;

interface Thread {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly flag: Int32Array;
}

let thread: Thread | undefined;
let nextId = 1;
const idleEnd = new IdleEnd(() => (thread === undefined ? undefined : stopScriptThread()));

function startThread(): Thread | undefined {
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./script-worker.ts', import.meta.url), {
    workerData: { port: port2, flag },
    transferList: [port2],
    resourceLimits: { maxOldGenerationSizeMb: scriptHeapLimitMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
  });
  // Idle, the thread must not keep the process alive; it is only ever waited on synchronously.
  worker.unref();
  port1.unref();
  // A thread ended by its heap limit reports it here; the waiting side has already given up on it.
  worker.on('error', () => undefined);
  // Waits while the flag is still 0, i.e. until the thread sets scriptThreadReady.
  if (Atomics.wait(flag, 0, 0, startTimeoutMs) === 'timed-out') {
    void worker.terminate();
    return undefined;
  }
  return { worker, port: port1, flag };
}

/**
 * Runs `source` on `inputJson` on the script thread and returns what the sandbox returned; `gone` when the
 * thread did not answer within the time limit and the grace (it ran out of memory, or hung past the limit):
 * that thread is ended and the next call starts another.
 */
export function runOnScriptThread(
  source: string,
  inputJson: string,
  timeoutMs: number,
): SandboxOutcome | { kind: 'gone' } {
  idleEnd.busy();
  thread ??= startThread();
  if (thread === undefined) return { kind: 'gone' };
  const { port, flag, worker } = thread;
  const id = nextId++;
  Atomics.store(flag, 0, 0);
  port.postMessage({ id, source, inputJson, timeoutMs } satisfies ScriptRequest);
  const deadline = Date.now() + timeoutMs + graceMs;
  for (;;) {
    const reply = receiveMessageOnPort(port)?.message as ScriptReply | undefined;
    if (reply?.id === id) {
      idleEnd.idle();
      return reply.outcome;
    }
    // An answer to an earlier request that was given up on: dropped. Otherwise wait for the flag.
    if (reply !== undefined) continue;
    const left = deadline - Date.now();
    if (left <= 0 || Atomics.wait(flag, 0, 0, left) === 'timed-out') break;
    Atomics.store(flag, 0, 0);
  }
  thread = undefined;
  void worker.terminate();
  return { kind: 'gone' };
}

/** Whether the script thread runs now (it starts with a script and ends when idle). */
export function scriptThreadRunning(): boolean {
  return thread !== undefined;
}

/** Ends the script thread, if one runs (the engine's stop); the next script starts another. */
export async function stopScriptThread(): Promise<void> {
  const running = thread;
  thread = undefined;
  if (running !== undefined) await running.worker.terminate();
}
