import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import test from 'ava';
import { ExamNumbers, examNumberPattern, formatExamNumber } from '../../exams/exam-number.ts';
import { openTestHub } from './setup.ts';

function runWorker(dataDir: string, count: number, name: string): Promise<string[]> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'number-worker.ts'), dataDir, String(count), name], { stdio: ['ignore', 'pipe', 'pipe'] });
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

test('with blocks of one, numbers have no gaps', async (t) => {
  const { store } = await openTestHub(t);
  const numbers = new ExamNumbers(store.db, { prefix: 'gapless', blockSize: 1 });
  const year = new Date(Date.UTC(2030, 5, 1));
  const got = await Promise.all(Array.from({ length: 5 }, () => numbers.next(year)));
  t.deepEqual(got.sort(), ['RSO-2030-000001', 'RSO-2030-000002', 'RSO-2030-000003', 'RSO-2030-000004', 'RSO-2030-000005']);
});

test('two hub processes creating exams on one store at once never get the same number', async (t) => {
  const { dataDir, exams } = await openTestHub(t);
  const first = await exams.createOrder(
    { facility: 'VALLEYGEN', patient: { identifiers: [{ system: 'VALLEYGEN', value: 'MRN-PARENT' }] }, procedure: { code: 'CTHEAD' } },
    { actor: 'parent', via: 'test' },
  );
  const [a, b] = await Promise.all([runWorker(dataDir, 60, 'a'), runWorker(dataDir, 60, 'b')]);
  const all = [first.examNumber, ...a, ...b];
  t.is(new Set(all).size, all.length, 'every number is unique');
  for (const number of all) t.regex(number, examNumberPattern);
  // Each process reserves blocks of 10: the numbers used are exactly the first 130 minus the parent's unused 9.
  const seqs = all.map((n) => Number(n.split('-')[2])).sort((x, y) => x - y);
  t.deepEqual(seqs, [1, ...Array.from({ length: 120 }, (_, i) => i + 11)]);
  const stored = await exams.findExams({ limit: 1000 });
  t.is(stored.total, 121);
});
