// The streaming data set walker must give the same answer however the network cuts the bytes, and must notice
// every way a data set can stop early.
import test from 'ava';
import { DatasetWalker, headerText } from '../../dicom/dataset-walker.ts';
import { buildDataset, spec } from './make-instance.ts';

function walk(bytes: Buffer, implicit: boolean, chunkSizes: (index: number) => number): DatasetWalker {
  const walker = new DatasetWalker(implicit);
  let offset = 0;
  for (let index = 0; offset < bytes.length; index++) {
    const size = Math.max(1, chunkSizes(index));
    walker.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return walker;
}

for (const implicit of [false, true]) {
  const vr = implicit ? 'implicit' : 'explicit';

  test(`${vr} VR: the same values whether the bytes come whole, byte by byte or in odd pieces`, (t) => {
    const instance = spec({ implicitVr: implicit, undefinedLengthSequence: true, pixelBytes: 4096 });
    const bytes = buildDataset(instance);
    for (const sizes of [() => bytes.length, () => 1, (index: number) => ((index * 7919) % 13) + 1]) {
      const walker = walk(bytes, implicit, sizes);
      t.notThrows(() => walker.end());
      t.is(headerText(walker.values, 'sopInstanceUid'), instance.sopInstanceUid);
      t.is(headerText(walker.values, 'patientName'), 'Müller^Anna');
      t.is(headerText(walker.values, 'accessionNumber'), 'ACC-42');
      t.is(headerText(walker.values, 'studyInstanceUid'), instance.studyInstanceUid);
      t.is(walker.values.has('sopClassUid'), true);
    }
  });

  test(`${vr} VR: a data set cut inside any element, item or sequence is reported as truncated`, (t) => {
    const bytes = buildDataset(spec({ implicitVr: implicit, undefinedLengthSequence: true, pixelBytes: 64 }));
    const unnoticed: number[] = [];
    for (let cut = 1; cut < bytes.length; cut++) {
      const walker = new DatasetWalker(implicit);
      try {
        walker.push(bytes.subarray(0, cut));
        walker.end();
        unnoticed.push(cut);
      } catch {
        // Expected: truncated.
      }
    }
    // A cut exactly between two top-level elements leaves a shorter but well-formed data set; those are the
    // only cuts a structural walk cannot see (21 elements, so 20 such boundaries), and none is in the pixels.
    t.is(unnoticed.length, 20);
    t.true(unnoticed.every((cut) => cut < bytes.length - 64));
  });
}

test('a sequence delimiter outside any sequence is not a data set', (t) => {
  const stray = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  const walker = new DatasetWalker(true);
  t.throws(() => walker.push(stray), { message: /delimiter \(FFFE,E0DD\) outside a sequence/ });
});
