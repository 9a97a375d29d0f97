// Two hub processes on one embedded store (DESIGN: "two processes on one embedded store must also be safe"):
// both claim from the same queue with findOneAndUpdate at the same time; every document is claimed once.
import test from 'ava';
import path from 'node:path';
import { openEmbedded } from './engines.ts';
import { startReleasedChild } from './released-child.ts';

const QUEUED = 10_000;
const worker = path.join(import.meta.dirname, 'claim-worker.ts');

interface Claims {
  worker: string;
  claimed: number[];
}

function startWorker(file: string, name: string): { ready: Promise<void>; go(): void; result: Promise<Claims> } {
  const child = startReleasedChild(worker, [file, name]);
  const result = child.exited.then(({ code, last }) => {
    if (code !== 0) throw new Error(`worker ${name} exited with ${code}`);
    return JSON.parse(last) as Claims;
  });
  return { ready: child.ready, go: child.go, result };
}

test('two processes claiming 10,000 queued documents claim each exactly once', async (t) => {
  const engine = openEmbedded();
  try {
    const queue = engine.db.collection('queue');
    await queue.createIndex({ state: 1, n: 1 });
    await queue.insertMany(Array.from({ length: QUEUED }, (_v, n) => ({ n, state: 'queued' })));

    const a = startWorker(engine.file, 'a');
    const b = startWorker(engine.file, 'b');
    await Promise.all([a.ready, b.ready]);
    a.go();
    b.go();
    const [claimsA, claimsB] = await Promise.all([a.result, b.result]);

    t.log(`process a claimed ${claimsA.claimed.length}, process b claimed ${claimsB.claimed.length}`);
    t.is(claimsA.claimed.length + claimsB.claimed.length, QUEUED);
    const union = new Set([...claimsA.claimed, ...claimsB.claimed]);
    t.is(union.size, QUEUED, 'no document was claimed twice');
    t.is(await queue.countDocuments({ state: 'queued' }), 0);
    t.is(await queue.countDocuments({ state: 'claimed', by: 'a' }), claimsA.claimed.length);
    t.is(await queue.countDocuments({ state: 'claimed', by: 'b' }), claimsB.claimed.length);
    // Each process takes the queue head in order, so its own claims ascend.
    for (const claims of [claimsA, claimsB])
      t.true(claims.claimed.every((n, i) => i === 0 || n > claims.claimed[i - 1]!));
  } finally {
    await engine.close();
  }
});
