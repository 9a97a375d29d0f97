// One suite, every engine: the embedded engine always, MongoDB when MONGODB_URL is set. A case that passes on
// MongoDB and fails on the embedded engine is a bug in the embedded engine, never in the case.
import test from 'ava';
import { conformanceCases } from './conformance-cases.ts';
import { freshName, mongodbUrl, openEmbedded, openMongo, type TestEngine } from './engines.ts';

function register(engineName: string, open: () => Promise<TestEngine>): void {
  let engine: Promise<TestEngine> | undefined;
  const shared = (): Promise<TestEngine> => (engine ??= open());
  test.after.always(async () => {
    if (engine !== undefined) await (await engine).close();
  });
  for (const conformance of conformanceCases) {
    test(`${engineName}: ${conformance.name}`, async (t) => {
      const { db } = await shared();
      await conformance.run(t, db.collection(freshName()), db);
    });
  }
}

register('embedded', async () => openEmbedded());

if (mongodbUrl !== '') {
  register('mongodb', () => openMongo('conformance'));
} else {
  console.log('store conformance: MongoDB half SKIPPED – MONGODB_URL is not set; only the embedded engine was checked');
  test.skip('mongodb: all conformance cases (skipped: MONGODB_URL is not set)', () => {});
}
