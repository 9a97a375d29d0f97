// The script thread's side of script-thread.ts: runs each request in the sandbox and answers on the port it
// was given, then wakes the waiting engine thread through the shared flag.
import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'node:worker_threads';
import { runSandboxed } from './script-sandbox.ts';
import { scriptThreadReady, type ScriptReply, type ScriptRequest } from './script-thread.ts';

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };

port.on('message', ({ id, source, inputJson, timeoutMs }: ScriptRequest) => {
  const outcome = runSandboxed(source, inputJson, timeoutMs);
  // A result that is not a string (the script replaced JSON.stringify) cannot cross as is; the engine refuses it.
  const reply: ScriptReply = {
    id,
    outcome:
      outcome.kind === 'output' && typeof outcome.output !== 'string' ? { kind: 'output', output: null } : outcome,
  };
  port.postMessage(reply);
  Atomics.store(flag, 0, id);
  Atomics.notify(flag, 0);
});
// Listening: the engine's thread waits for this before its first request (script-thread.ts startThread).
Atomics.store(flag, 0, scriptThreadReady);
Atomics.notify(flag, 0);
