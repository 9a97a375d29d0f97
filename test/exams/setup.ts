// Shared set-up of the exam tests: a real embedded store in a temp dir (the engine the hub runs by default)
// and an exam service on it, seeded with the sample facility from config/facilities.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { ExamService } from '../../exams/service.ts';
import { createLogger, type Logger } from '../../runtime/log.ts';
import type { Store } from '../../store/db.ts';
import { openStore } from '../../store/open.ts';

export const repoRoot = path.join(import.meta.dirname, '..', '..');
export const facilitiesDir = path.join(repoRoot, 'config', 'facilities');
export const examFixtures = path.join(repoRoot, 'test', 'fixtures', 'exams');

/** Warnings and errors still show; the info lines of opening stores would only clutter the test output. */
const base = createLogger({ test: 'exams' });
export const quietLog: Logger = { ...base, debug: () => {}, info: () => {}, child: () => quietLog };

export interface TestHub {
  dataDir: string;
  store: Store;
  exams: ExamService;
}

export async function openTestHub(t: ExecutionContext, dataDir?: string): Promise<TestHub> {
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'rso-exams-')));
  const store = await openStore({ dataDir: dir, log: quietLog });
  const exams = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000, dataDir: dir });
  await exams.start();
  await exams.facilities.loadDir(facilitiesDir);
  t.teardown(async () => {
    await exams.stop();
    await store.close();
    if (!dataDir) await rm(dir, { recursive: true, force: true });
  });
  return { dataDir: dir, store, exams };
}

export const hl7Source = { actor: 'channel:valley-orders', via: 'hl7' } as const;
export const userSource = { actor: 'maria', via: 'admin-ui' } as const;
