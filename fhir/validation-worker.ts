// The worker side of validation-thread.ts: indexes the StructureDefinitions once, then answers each request with
// validator.ts's validate(), the very function the inline validator runs. Only plain data crosses the thread
// boundary, so an HttpError travels as its status, message and issues.
import { parentPort } from 'node:worker_threads';
import { HttpError } from '../http/http-error.ts';
import { loadDefinitions, validate } from './validator.ts';
import type { ValidationReply, ValidationRequest } from './validation-thread.ts';

if (parentPort) {
  const port = parentPort;
  loadDefinitions();
  port.on('message', (batch: ValidationRequest[]) => {
    port.postMessage(batch.map(answer));
  });
}

function answer({ id, value, json, expected, prefix }: ValidationRequest): ValidationReply {
  try {
    validate(json === undefined ? value : JSON.parse(json), expected, prefix);
    return { id, ok: true };
  } catch (error) {
    if (error instanceof HttpError) {
      return { id, ok: false, status: error.status, message: error.message, issues: error.issues };
    }
    return { id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
