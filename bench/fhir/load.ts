// Load generator of the FHIR benchmark, run in a worker thread so that it has a core of its own instead of
// competing with the server's event loop. Keep-alive connections, a fixed number of requests in flight.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  token: string;
  /** `{{i}}` is replaced by the request number, so creates can carry unique identifiers. */
  body?: string;
  /** For GET: paths to cycle through (relative to url). */
  paths?: string[];
  count: number;
  concurrency: number;
}

export interface LoadResult {
  seconds: number;
  latenciesMs: number[];
  statuses: Record<string, number>;
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const body = spec.body?.replaceAll('{{i}}', String(i));
      const url = spec.paths ? spec.url + spec.paths[i % spec.paths.length] : spec.url;
      const started = performance.now();
      const req = http.request(url, {
        method: spec.method,
        agent,
        headers: {
          authorization: `Bearer ${spec.token}`,
          'content-type': 'application/fhir+json',
          ...(body ? { 'content-length': Buffer.byteLength(body) } : {}),
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          latenciesMs.push(performance.now() - started);
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (next < spec.count) await one(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { seconds, latenciesMs, statuses };
}

if (parentPort) parentPort.postMessage(await run(workerData as LoadSpec));
