// A child process held at a starting line: it prints "ready" once loaded and waits for "go" on stdin, so tests
// release several at the same moment (two-processes.test.ts, open-race.test.ts; the children are claim-worker.ts
// and open-worker.ts).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ReleasedChild {
  /** Resolves once the child has said "ready". */
  ready: Promise<void>;
  /** Lets it go. */
  go(): void;
  /** Its exit code, the last line it printed other than "ready", and the first line of its stderr. */
  exited: Promise<{ code: number | null; last: string; error: string }>;
}

export function startReleasedChild(script: string, args: string[]): ReleasedChild {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(chunk);
  });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let last = '';
  lines.on('line', (line) => {
    if (line === 'ready') markReady();
    else last = line;
  });
  const exited = new Promise<{ code: number | null; last: string; error: string }>((resolve, reject) => {
    child.on('error', reject);
    // After 'close', so every line of stdout has been read.
    child.on('close', (code) => resolve({ code, last, error: stderr.trim().split('\n')[0] ?? '' }));
  });
  return { ready, exited, go: () => child.stdin.end('go\n') };
}
