// Helpers for tests of several hub processes (hub.workers): the config, and which process answered.
import http from 'node:http';
import { until } from './channels.ts';
import { adminToken, defaultTestConfig, type HubProcess } from './hub-process.ts';

/** `base` (a test config) with a `hub:` section for `workers` processes. */
export const workersConfig = (workers: number, takeoverSeconds = 5, base = defaultTestConfig): string =>
  `${base}hub:\n  workers: ${workers}\n  takeoverSeconds: ${takeoverSeconds}\n`;

/** The pid of the process that answered /health, on a fresh connection (a kept-alive one sticks to one process). */
export function answeringPid(hub: HubProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      hub.url('/health'),
      { agent: false, headers: { authorization: `Bearer ${adminToken}` } },
      (response) => {
        let body = '';
        // A worker killed while it answers cuts the body short: a throw or an 'error' with no listener here would be
        // an uncaught exception that ends the whole test file, where the caller only meant to ask again.
        response.on('error', reject);
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          let parsed: { process?: { pid?: number } };
          try {
            parsed = JSON.parse(body) as typeof parsed;
          } catch {
            reject(new Error(`/health answered ${response.statusCode} with no JSON: ${body.slice(0, 200)}`));
            return;
          }
          if (typeof parsed.process?.pid !== 'number') reject(new Error(`no process in /health: ${body}`));
          else resolve(parsed.process.pid);
        });
      },
    );
    request.on('error', reject);
  });
}

/** Asks /health on fresh connections until `count` different processes have answered. */
export async function answeringPids(hub: HubProcess, count: number, timeoutMs = 60_000): Promise<Set<number>> {
  const seen = new Set<number>();
  await until(
    async () => {
      seen.add(await answeringPid(hub).catch(() => 0));
      seen.delete(0);
      return seen.size >= count;
    },
    timeoutMs,
    `${count} hub processes answering /health`,
  );
  return seen;
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
