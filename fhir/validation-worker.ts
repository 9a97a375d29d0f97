// The worker side of validation-thread.ts: indexes the StructureDefinitions once, then answers each request with
// validator.ts's validate(), the very function the inline validator runs. Only plain data crosses the thread
// boundary, so a FhirError travels as its status and OperationOutcome.
import { parentPort } from 'node:worker_threads';
import { FhirError } from './outcome.ts';
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
    if (error instanceof FhirError) return { id, ok: false, status: error.status, outcome: error.outcome };
    return { id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
