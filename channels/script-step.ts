// The JavaScript map step: the user's script, run in a sandbox (script-sandbox.ts) on the script thread
// (script-thread.ts) under a time limit and a heap limit. Nothing the script does reaches the engine's realm:
// the input goes in as JSON text and the result comes back as JSON text.
import { runOnScriptThread, scriptHeapLimitMb } from './script-thread.ts';

export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

export const defaultScriptTimeoutMs = 1000;

export class ScriptStep {
  readonly #timeoutMs: number;
  readonly source: string;

  constructor(source: string, timeoutMs = defaultScriptTimeoutMs) {
    this.#timeoutMs = timeoutMs;
    this.source = source;
  }

  /** Runs the step on a JSON-safe value; throws ScriptError for the script's own error, its time or its memory. */
  run(input: unknown): unknown {
    const outcome = runOnScriptThread(this.source, JSON.stringify(input ?? null), this.#timeoutMs);
    if (outcome.kind === 'timeout') throw new ScriptError(`the script ran longer than ${this.#timeoutMs} ms`);
    if (outcome.kind === 'gone')
      throw new ScriptError(
        `the script did not finish: it used more than ${scriptHeapLimitMb} MB of memory or ran past its time`,
      );
    if (outcome.kind === 'failed') throw new ScriptError('script error: the script could not be run');
    const result = readResult(outcome.output);
    if (!result.ok) throw new ScriptError(`script error: ${result.error ?? 'unknown'}`);
    return result.value ?? null;
  }
}

/** The script may have replaced the context's JSON; anything but the wrapper's own JSON text is refused. */
function readResult(output: unknown): { ok: boolean; value?: unknown; error?: string } {
  if (typeof output !== 'string') throw new ScriptError('script error: the result is not JSON-serialisable');
  try {
    const result = JSON.parse(output) as unknown;
    if (typeof result === 'object' && result !== null && typeof (result as { ok?: unknown }).ok === 'boolean')
      return result as { ok: boolean };
  } catch {
    // fall through
  }
  throw new ScriptError('script error: the result is not JSON-serialisable');
}
