// The JavaScript map step, run in a node:vm context with a time limit. node:vm is not a security boundary by
// itself: any host object or function placed in the context leaks the host realm
// (`this.constructor.constructor('return process')()` reaches `process` through it). So the context gets no
// host values at all: the input goes in as JSON text inside the script source, is parsed by the context's own
// JSON, and the result comes back as JSON text, a primitive string. Without `require`, `process` or any I/O
// object in reach, the script can compute but not touch the machine. `timeout` stops a synchronous loop;
// microtask tricks are blocked by `microtaskMode: 'afterEvaluate'`.
import vm from 'node:vm';

export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

export const defaultScriptTimeoutMs = 1000;

/** Compiled once per definition; `run` is cheap enough to call per message. */
export class ScriptStep {
  readonly #script: vm.Script;
  readonly #timeoutMs: number;
  readonly source: string;

  constructor(source: string, timeoutMs = defaultScriptTimeoutMs) {
    // The user's code becomes the body of a function called with `msg`; it may modify `msg` in place or
    // return a new value. The wrapper is written so the user's text cannot close it early: it is parsed as a
    // separate Function body from a string inside the context.
    // Errors are turned into text inside the context, under the time limit: a thrown object could be a Proxy
    // whose getters would otherwise run in the host, without a limit, when the host reads `.message`.
    const wrapper = `(() => {
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
    })()`;
    this.#script = new vm.Script(wrapper, { filename: 'map-script.js' });
    this.#timeoutMs = timeoutMs;
    this.source = source;
  }

  /** Runs the step on a JSON-safe value; throws ScriptError for the script's own error or the timeout. */
  run(input: unknown): unknown {
    const context = vm.createContext(Object.create(null) as object, {
      codeGeneration: { strings: true, wasm: false },
      microtaskMode: 'afterEvaluate',
    });
    // Strings are primitives: they carry no prototype chain back into this realm.
    vm.runInContext(`var __input = ${JSON.stringify(JSON.stringify(input ?? null))}; var __source = ${JSON.stringify(this.source)};`, context);
    let output: unknown;
    try {
      output = this.#script.runInContext(context, { timeout: this.#timeoutMs, breakOnSigint: false });
    } catch (error) {
      // Only the host's own timeout error (or a stack overflow while stringifying) reaches here.
      const code = (error as { code?: unknown } | null)?.code;
      if (code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new ScriptError(`the script ran longer than ${this.#timeoutMs} ms`);
      throw new ScriptError('script error: the script could not be run');
    }
    const result = readResult(output);
    if (!result.ok) throw new ScriptError(`script error: ${result.error ?? 'unknown'}`);
    return result.value ?? null;
  }
}

/** The script may have replaced the context's JSON; anything but the wrapper's own JSON text is refused. */
function readResult(output: unknown): { ok: boolean; value?: unknown; error?: string } {
  if (typeof output !== 'string') throw new ScriptError('script error: the result is not JSON-serialisable');
  try {
    const result = JSON.parse(output) as unknown;
    if (typeof result === 'object' && result !== null && typeof (result as { ok?: unknown }).ok === 'boolean') return result as { ok: boolean };
  } catch {
    // fall through
  }
  throw new ScriptError('script error: the result is not JSON-serialisable');
}
