// A fax gateway for the tests: a real SOAP service built with soap.listen from the WSDL the hub ships
// (config/wsdl/fax-gateway.wsdl). Each recipient number has a script: the status words its job reports on
// successive polls (the last one repeats), or a fault that SendFax answers. A held script stays before its last
// status until the test releases it, so a test can look at the hub mid-fax without racing the polls.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import soap from 'soap';

export const wsdlPath = path.join(import.meta.dirname, '..', '..', 'config', 'wsdl', 'fax-gateway.wsdl');

export interface FaxScript {
  statuses?: string[];
  /** While `released` is false the job keeps the status before the last (the gateway is still dialling). */
  held?: { released: boolean };
  /** SendFax answers with this fault (faultcode, faultstring), `times` times (default always). */
  fault?: { code: string; text: string; times?: number };
}

export interface ReceivedFax {
  jobId: string;
  recipient: string;
  coverText: string;
  fileName: string;
  document: Buffer;
  polls: number;
  /** The status answered to each poll, in order. */
  answers: string[];
}

export async function faxGateway(t: ExecutionContext, scripts: Record<string, FaxScript>) {
  const faxes: ReceivedFax[] = [];
  const faults = new Map<string, number>();
  const wsdl = await readFile(wsdlPath, 'utf8');
  const server = createServer();
  const service = {
    FaxGateway: {
      FaxGatewayPort: {
        SendFax(args: Record<string, string>) {
          const script = scripts[args['recipient'] ?? ''] ?? {};
          const faulted = faults.get(args['recipient'] ?? '') ?? 0;
          if (script.fault && faulted < (script.fault.times ?? Infinity)) {
            faults.set(args['recipient'] ?? '', faulted + 1);
            throw { Fault: { faultcode: script.fault.code, faultstring: script.fault.text }, statusCode: 500 };
          }
          const jobId = `job-${faxes.length + 1}`;
          faxes.push({
            jobId,
            recipient: args['recipient'] ?? '',
            coverText: args['coverText'] ?? '',
            fileName: args['fileName'] ?? '',
            document: Buffer.from(args['document'] ?? '', 'base64'),
            polls: 0,
            answers: [],
          });
          return { jobId };
        },
        GetFaxStatus(args: Record<string, string>) {
          const fax = faxes.find((f) => f.jobId === args['jobId']);
          if (fax === undefined)
            throw { Fault: { faultcode: 'soap:Client', faultstring: 'unknown job' }, statusCode: 500 };
          const script = scripts[fax.recipient];
          const statuses = script?.statuses ?? ['delivered'];
          const last = script?.held?.released === false ? statuses.length - 2 : statuses.length - 1;
          const status = statuses[Math.max(0, Math.min(fax.polls, last))] ?? 'delivered';
          fax.polls++;
          fax.answers.push(status);
          return { jobId: fax.jobId, status, ...(status === 'failed' ? { detail: 'no answer after 3 tries' } : {}) };
        },
      },
    },
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  soap.listen(server, '/fax', service, wsdl);
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}/fax`, faxes };
}
