// The scheduler (agenda on the hub's store) on the embedded engine and, when MONGODB_URL is set, on MongoDB:
// retries with backoff, a job scheduled before a restart runs after it, and jobs a killed process held locked run
// after the restart at once instead of after agenda's 10-minute lock lifetime.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { Scheduler } from '../../runtime/scheduler.ts';
import type { LogFields, Logger } from '../../runtime/log.ts';
import type { HubDb } from '../../store/db.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';

interface Recorded {
  msg: string;
  fields: LogFields;
}

/** A Logger that keeps what it is given, so a test can read the scheduler's retry decisions. */
function recordingLogger(records: Recorded[] = []): Logger & { records: Recorded[] } {
  const keep = (msg: string, fields: LogFields = {}): void => void records.push({ msg, fields });
  return { records, debug: keep, info: keep, warn: keep, error: keep, child: () => recordingLogger(records) };
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Opens the same database again after a close, as a restarted hub would. */
interface Reopenable {
  open(): Promise<{ db: HubDb; close(): Promise<void> }>;
  dispose(): Promise<void>;
}

function embedded(): Reopenable {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rso-scheduler-'));
  return {
    open: async () => {
      const store = new EmbeddedStore(path.join(dir, 'hub.sqlite'));
      return { db: store.db, close: () => store.close() };
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function mongodb(url: string): Reopenable {
  const name = `rso_hub_scheduler_${process.pid}_${Date.now()}_${Math.random().toString(36).slice(2, 6)}`;
  return {
    open: async () => {
      const client = await MongoClient.connect(url);
      return { db: client.db(name), close: () => client.close() };
    },
    dispose: async () => {
      const client = await MongoClient.connect(url);
      await client.db(name).dropDatabase();
      await client.close();
    },
  };
}

function register(engine: string, make: () => Reopenable): void {
  test(`${engine}: a job that fails twice is retried with exponential backoff and then succeeds`, async (t) => {
    const target = make();
    const { db, close } = await target.open();
    const log = recordingLogger();
    const scheduler = new Scheduler({ db, log, processEveryMs: 20, defaultLockLifetimeMs: 1_000 });
    const attempts: number[] = [];
    let succeeded = false;
    scheduler.define<{ exam: string }>(
      'deliver-report',
      async (data, run) => {
        attempts.push(run.attempt);
        t.is(data.exam, 'EX-1');
        if (run.attempt <= 2) throw new Error(`receiver down (attempt ${run.attempt})`);
        succeeded = true;
      },
      { retry: { maxAttempts: 5, initialDelayMs: 30, factor: 2 } },
    );
    try {
      await scheduler.start();
      t.true(scheduler.isRunning());
      await scheduler.now('deliver-report', { exam: 'EX-1' });
      await waitFor('the third attempt to succeed', () => succeeded);
      t.deepEqual(attempts, [1, 2, 3]);
      const retries = log.records
        .filter((record) => record.msg === 'job retry scheduled')
        .map((record) => record.fields['delayMs']);
      t.deepEqual(retries, [30, 60]);
      await waitFor(
        'the job state to be saved',
        async () =>
          (await db.collection('agendaJobs').findOne({ name: 'deliver-report', lastFinishedAt: { $exists: true } })) !==
          null,
      );
      const job = (await db.collection('agendaJobs').findOne({ name: 'deliver-report' }))!;
      t.falsy(job['failCount']);
    } finally {
      await scheduler.stop();
      t.false(scheduler.isRunning());
      await close();
      await target.dispose();
    }
  });

  test(`${engine}: a job scheduled before a restart runs after it`, async (t) => {
    const target = make();
    try {
      const first = await target.open();
      const before = new Scheduler({
        db: first.db,
        log: recordingLogger(),
        processEveryMs: 20,
        defaultLockLifetimeMs: 1_000,
      });
      await before.start();
      // No definition in the first process: it must not run the job, only store it.
      const id = await before.schedule(new Date(Date.now() + 200), 'send-reminder', { exam: 'EX-2' });
      await before.stop();
      await first.close();

      const second = await target.open();
      const after = new Scheduler({
        db: second.db,
        log: recordingLogger(),
        processEveryMs: 20,
        defaultLockLifetimeMs: 1_000,
      });
      const ran: Array<{ exam: string; jobId: string }> = [];
      after.define<{ exam: string }>(
        'send-reminder',
        async (data, run) => void ran.push({ exam: data.exam, jobId: run.jobId }),
      );
      try {
        await after.start();
        await waitFor('the reminder to run', () => ran.length > 0);
        t.deepEqual(ran, [{ exam: 'EX-2', jobId: id }]);
      } finally {
        await after.stop();
        await second.close();
      }
    } finally {
      await target.dispose();
    }
  });

  test(`${engine}: jobs locked by a process that exited run after the restart without waiting for the lock to expire`, async (t) => {
    const target = make();
    const { db, close } = await target.open();
    const jobs = db.collection('agendaJobs');
    const dead = 'inst-1:999999991:dead';
    const alive = `inst-1:${process.pid}:alive`;
    // What agenda leaves behind a kill -9: a one-time job that was running (agenda cleared its nextRunAt when
    // the run began), one locked ahead of its due time, and a job another, running, process holds.
    const lockedAt = new Date();
    const base = { type: 'normal', priority: 0, data: {}, lockedAt };
    await jobs.insertOne({ ...base, name: 'complete-study', nextRunAt: null, lastModifiedBy: dead, data: { n: 1 } });
    const pollDueAt = Date.now() + 300;
    await jobs.insertOne({ ...base, name: 'poll-fax', nextRunAt: new Date(pollDueAt), lastModifiedBy: dead });
    await jobs.insertOne({ ...base, name: 'poll-fax', nextRunAt: new Date(Date.now() - 1), lastModifiedBy: alive });
    const log = recordingLogger();
    const scheduler = new Scheduler({
      db,
      log,
      processEveryMs: 20,
      // Long enough that only the release, not lock expiry, can explain a run within the test.
      defaultLockLifetimeMs: 60_000,
      name: 'inst-1:1:new',
      // The hub's test (channels/lease-owner.ts deadOwnersOf) asks the OS; here the dead holder is named.
      isAbandoned: (holder) => holder === dead,
    });
    // Clock times, compared with the due time written above: a busy machine may take long between that write and
    // the scheduler's start, so a time measured from the start would say nothing (CI: "246 ms" for a job on time).
    const ran: Array<{ name: string; at: number }> = [];
    scheduler.define('complete-study', async () => void ran.push({ name: 'complete-study', at: Date.now() }));
    scheduler.define('poll-fax', async () => void ran.push({ name: 'poll-fax', at: Date.now() }));
    try {
      await scheduler.start();
      t.true(log.records.some((r) => r.msg === 'jobs locked by exited processes released' && r.fields['jobs'] === 2));
      await waitFor('both jobs of the exited process to run', () => ran.length >= 2, 10_000);
      t.deepEqual(ran.map((r) => r.name).sort(), ['complete-study', 'poll-fax']);
      const poll = ran.find((r) => r.name === 'poll-fax')!;
      // 20 ms for timers that round to whole milliseconds against the wall clock.
      t.true(
        poll.at >= pollDueAt - 20,
        `the poll ran at its due time, not before it (${poll.at - pollDueAt} ms after)`,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      t.is(ran.length, 2, 'the job a live process holds is left to it');
      t.truthy((await jobs.findOne({ lastModifiedBy: alive }))?.['lockedAt']);
    } finally {
      await scheduler.stop();
      await close();
      await target.dispose();
    }
  });
}

register('embedded', embedded);
const url = process.env['MONGODB_URL'] ?? '';
if (url !== '') {
  register('mongodb', () => mongodb(url));
} else {
  console.log('scheduler: MongoDB half SKIPPED – MONGODB_URL is not set; only the embedded engine was checked');
  test.skip('mongodb: scheduler tests (skipped: MONGODB_URL is not set)', () => {});
}
