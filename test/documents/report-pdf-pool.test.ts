// The report PDF threads (documents/report-pdf-pool.ts): a thread renders the same PDF the event loop would, a
// full queue refuses the next render with a BusyError saying when to retry (and the renders it took still
// finish), a render given a file creates it durably or fails, and a stopped pool fails what it held instead of leaving a signing request hanging.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ReportPdfPool } from '../../documents/report-pdf-pool.ts';
import { renderReportPdf, type ReportPdfInput } from '../../documents/report-pdf.ts';
import { BusyError } from '../../runtime/busy.ts';
import { setThreadIdleSeconds } from '../../runtime/idle-thread.ts';
import { until } from '../support/channels.ts';

const input = (n: number, name = 'Müller, Zoë'): ReportPdfInput => ({
  facilityName: 'Valley General',
  patient: { name, id: `MRN-${n}` },
  examNumber: `RSO-2026-${String(n).padStart(6, '0')}`,
  procedure: 'CT head without contrast',
  state: 'final',
  findings: 'The ventricles are normal in size.',
  impression: 'No acute intracranial abnormality.',
  radiologist: 'Dr. Wei Chen',
  signedAt: '2026-12-01T09:15:00.000Z',
  amended: false,
  reportId: `RSO-2026-${n}-R1`,
  version: 2,
});

/** Without what differs between two renders of one report: its creation date and the file ID made from it. */
const stable = (pdf: Buffer) =>
  pdf
    .toString('latin1')
    .replace(/\(D:\d{14}Z\)/g, '')
    .replace(/\/ID \[<[0-9a-f]+> <[0-9a-f]+>\]/g, '');

test('a report rendered on a PDF thread is the PDF the event loop renders, Latin-1 or with DejaVu embedded', async (t) => {
  const pool = new ReportPdfPool({ threads: 2, maxQueued: 4 });
  t.teardown(() => pool.stop());
  for (const report of [input(1), input(2, 'Łukasiewicz-Wiśniewska, Zoë')]) {
    const threaded = await pool.render(report);
    t.true(Buffer.isBuffer(threaded));
    t.is(stable(threaded), stable(await renderReportPdf(report)));
  }
});

test('given a file, the thread creates it with the PDF before answering, and never over a file already there', async (t) => {
  const pool = new ReportPdfPool({ threads: 1, maxQueued: 4 });
  t.teardown(() => pool.stop());
  const root = await mkdtemp(path.join(os.tmpdir(), 'report-pdf-file-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const file = { root, relative: path.join('reports', 'RSO-2026-1-R1', 'rendered-2-a1b2c3d4.pdf') };
  const bytes = await pool.render(input(1), file);
  t.deepEqual(await readFile(path.join(root, file.relative)), bytes);
  // A second render to the same name fails with the file system's reason and leaves the first file as it was.
  await t.throwsAsync(pool.render(input(2), file), { message: /EEXIST/ });
  t.deepEqual(await readFile(path.join(root, file.relative)), bytes);
  // A folder that cannot be made (its parent is a file) fails the render, and the thread goes on rendering.
  await writeFile(path.join(root, 'blocked'), 'not a folder');
  await t.throwsAsync(pool.render(input(3), { root, relative: path.join('blocked', 'R1', 'x.pdf') }), {
    message: /ENOTDIR|EEXIST/,
  });
  t.is((await pool.render(input(4))).subarray(0, 5).toString('latin1'), '%PDF-');
});

test('a thread holds several jobs at once, each answered with its own PDF, and more wait in the queue', async (t) => {
  const pool = new ReportPdfPool({ threads: 1, maxQueued: 8, perThread: 3 });
  t.teardown(() => pool.stop());
  const renders = [1, 2, 3, 4, 5].map((n) => pool.render(input(n)));
  t.deepEqual(pool.load, { queued: 2, rendering: 3 });
  const pdfs = await Promise.all(renders);
  for (const [i, pdf] of pdfs.entries()) t.is(stable(pdf), stable(await renderReportPdf(input(i + 1))));
  t.deepEqual(pool.load, { queued: 0, rendering: 0 });
});

test('with every thread rendering and the queue full, the next render is refused with when to retry', async (t) => {
  const pool = new ReportPdfPool({ threads: 1, maxQueued: 1, perThread: 1 });
  t.teardown(() => pool.stop());
  const first = pool.render(input(1));
  const second = pool.render(input(2));
  t.deepEqual(pool.load, { queued: 1, rendering: 1 });
  const refused = await t.throwsAsync(pool.render(input(3)), { instanceOf: BusyError });
  t.regex(refused?.message ?? '', /report PDF renderer is busy \(2 renders ahead\)/);
  t.true((refused?.retryAfterSeconds ?? 0) >= 1);
  // What it took is rendered, in order, and then there is room again.
  t.is((await first).subarray(0, 5).toString('latin1'), '%PDF-');
  t.is((await second).subarray(0, 5).toString('latin1'), '%PDF-');
  t.deepEqual(pool.load, { queued: 0, rendering: 0 });
  t.is((await pool.render(input(4))).subarray(0, 5).toString('latin1'), '%PDF-');
});

test('stopping the pool fails the renders it held; stop twice, or before any render, is harmless', async (t) => {
  const idle = new ReportPdfPool({ threads: 1, maxQueued: 0 });
  await idle.stop();
  await idle.stop();
  const pool = new ReportPdfPool({ threads: 1, maxQueued: 2 });
  pool.start();
  const held = [pool.render(input(1)), pool.render(input(2))];
  await pool.stop();
  for (const render of held) await t.throwsAsync(render, { message: /stopped/ });
  await t.throwsAsync(pool.render(input(3)), { message: /stopped/ });
});

test.serial(
  'the threads start with the first render and end when idle; the next render starts them again',
  async (t) => {
    setThreadIdleSeconds(0.3);
    t.teardown(() => setThreadIdleSeconds(30));
    const pool = new ReportPdfPool({ threads: 2, maxQueued: 4 });
    t.teardown(() => pool.stop());
    t.is(pool.threads, 0, 'none before a render');
    const first = await pool.render(input(1));
    t.true(pool.threads >= 1);
    await until(() => pool.threads === 0, 10_000, 'the idle PDF threads to end');
    t.is(pool.threads, 0, 'ended after the idle time');
    t.is(stable(await pool.render(input(1))), stable(first));
  },
);
