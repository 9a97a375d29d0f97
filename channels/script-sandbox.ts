// What runs a map script, on the script thread (script-worker.ts). node:vm is not a security boundary by
// itself: any host object or function placed in the context leaks the host realm
// (`this.constructor.constructor('return process')()` reaches `process` through it). So the context gets no
// host values at all: the input goes in as JSON text inside the script source, is parsed by the context's own
// JSON, and the result comes back as JSON text, a primitive string. Without `require`, `process` or any I/O
// object in reach, the script can compute but not touch the machine. `timeout` stops a synchronous loop;
// microtask tricks are blocked by `microtaskMode: 'afterEvaluate'`. The thread's heap limit bounds what a
// script can allocate on the heap; memory outside it (ArrayBuffer and the typed arrays over it, WebAssembly
// memories) is not counted by that limit, so those constructors are removed from the context: a map script
// transforms JSON and has no use for them. A fresh context per message: one message's script cannot leave
// state for the next.
import vm from 'node:vm';

/** The wrapper's JSON text, or why there is none. */
export type SandboxOutcome = { kind: 'output'; output: unknown } | { kind: 'timeout' } | { kind: 'failed' };

// The user's code becomes the body of a function called with `msg`; it may modify `msg` in place or return a
// new value. The wrapper is written so the user's text cannot close it early: it is parsed as a separate
// Function body from a string inside the context. Errors are turned into text inside the context, under the
// time limit: a thrown object could be a Proxy whose getters would otherwise run in the host, without a limit,
// when the host reads `.message`.
const wrapper = new vm.Script(
  `(() => {
    try {
      const input = JSON.parse(__input);
      const step = new Function('msg', __source);
      const returned = step(input);
      return JSON.stringify({ ok: true, value: returned === undefined ? input : returned });
    } catch (error) {
      let text = 'the script threw a non-error value';
      try { text = String(error && error.name) + ': ' + String(error && error.message); } catch {}
      return JSON.stringify({ ok: false, error: text });
    }
  })()`,
  { filename: 'map-script.js' },
);

const offHeap = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'WebAssembly',
  'Atomics',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];
const withoutBuffers = new vm.Script(offHeap.map((name) => `delete globalThis.${name};`).join(' '), {
  filename: 'map-script-setup.js',
});

export function runSandboxed(source: string, inputJson: string, timeoutMs: number): SandboxOutcome {
  const context = vm.createContext(Object.create(null) as object, {
    codeGeneration: { strings: true, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  withoutBuffers.runInContext(context);
  // Strings are primitives: they carry no prototype chain back into this realm.
  vm.runInContext(`var __input = ${JSON.stringify(inputJson)}; var __source = ${JSON.stringify(source)};`, context);
  try {
    return { kind: 'output', output: wrapper.runInContext(context, { timeout: timeoutMs, breakOnSigint: false }) };
  } catch (error) {
    // Only the host's own timeout error (or a stack overflow while stringifying) reaches here.
    const code = (error as { code?: unknown } | null)?.code;
    return code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' ? { kind: 'timeout' } : { kind: 'failed' };
  }
}
