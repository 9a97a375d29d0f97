import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import test from 'ava';
import { ExamNumbers, examNumberPattern, formatExamNumber } from '../../exams/exam-number.ts';
import { openTestHub } from './setup.ts';

function runWorker(dataDir: string, count: number, name: string): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [path.join(import.meta.dirname, 'number-worker.ts'), dataDir, String(count), name],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`worker ${name} exited with ${String(code)}: ${err}`);
    const lines = out.trim().split('\n');
    return JSON.parse(lines.at(-1)!) as string[];
  });
}

test('exam numbers are readable: RSO-<year>-<six digits>', (t) => {
  t.is(formatExamNumber(2026, 123), 'RSO-2026-000123');
  t.is(formatExamNumber(2026, 1234567), 'RSO-2026-1234567');
  t.regex(formatExamNumber(2026, 1), examNumberPattern);
});

test('numbers come in order; the next block is reserved once half of one is used', async (t) => {
  const { store } = await openTestHub(t);
  const numbers = new ExamNumbers(store.db, { prefix: 'ahead', blockSize: 10 });
  const year = new Date(Date.UTC(2030, 5, 1));
  const counter = () => store.db.collection<{ _id: string; seq: number }>('counters').findOne({ _id: 'ahead:2030' });
  const first = [];
  for (let i = 0; i < 5; i++) first.push(await numbers.next(year));
  t.is((await counter())?.seq, 10, 'half a block used: nothing reserved ahead yet');
  const rest = [];
  for (let i = 0; i < 25; i++) rest.push(await numbers.next(year));
  t.deepEqual(
    [...first, ...rest],
    Array.from({ length: 30 }, (_, i) => formatExamNumber(2030, i + 1)),
  );
  // 30 used: blocks 1-3 used, the 4th reserved ahead once the 3rd was half used.
  const deadline = Date.now() + 10_000;
  while ((await counter())?.seq !== 40 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  t.is((await counter())?.seq, 40);
});

test('with blocks of one, numbers have no gaps', async (t) => {
  const { store } = await openTestHub(t);
  const numbers = new ExamNumbers(store.db, { prefix: 'gapless', blockSize: 1 });
  const year = new Date(Date.UTC(2030, 5, 1));
  const got = await Promise.all(Array.from({ length: 5 }, () => numbers.next(year)));
  t.deepEqual(got.sort(), [
    'RSO-2030-000001',
    'RSO-2030-000002',
    'RSO-2030-000003',
    'RSO-2030-000004',
    'RSO-2030-000005',
  ]);
});

test('two hub processes creating exams on one store at once never get the same number', async (t) => {
  const { dataDir, exams } = await openTestHub(t);
  const first = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: { identifiers: [{ system: 'VALLEYGEN', value: 'MRN-PARENT' }] },
      procedure: { code: 'CTHEAD' },
    },
    { actor: 'parent', via: 'test' },
  );
  const [a, b] = await Promise.all([runWorker(dataDir, 60, 'a'), runWorker(dataDir, 60, 'b')]);
  const all = [first.examNumber, ...a, ...b];
  t.is(new Set(all).size, all.length, 'every number is unique');
  for (const number of all) t.regex(number, examNumberPattern);
  // Blocks of 10, the next one reserved ahead: each worker reserves its 6 blocks and at most one more, the parent
  // one (and none ahead: it used one number of ten). No number beyond those blocks was handed out.
  const seqs = all.map((n) => Number(n.split('-')[2])).sort((x, y) => x - y);
  t.is(seqs[0], 1);
  t.true(seqs.at(-1)! <= 10 + 2 * 70, `highest number ${seqs.at(-1)}`);
  const stored = await exams.findExams({ limit: 1000 });
  t.is(stored.total, 121);
});
