// The real pieces the mapping tests run on: an embedded store in a temp dir, the exam service with the sample
// facility from config/facilities plus the test facilities of test/fixtures/hl7/orders/facilities.json, and
// the rso-exams destination built by its factory, as hub.ts builds it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import type { DestinationConnector, Refusal, SendResult } from '../../../channels/connector.ts';
import { ExamService } from '../../../exams/service.ts';
import { examDestinationType } from '../../../hl7/exam-destination.ts';
import { createLogger, type Logger } from '../../../runtime/log.ts';
import type { Store } from '../../../store/db.ts';
import { openStore } from '../../../store/open.ts';

export const repoRoot = path.join(import.meta.dirname, '..', '..', '..');
export const mappingFixtures = path.join(repoRoot, 'test', 'fixtures', 'hl7');

const base = createLogger({ test: 'hl7-mapping' });
/** Warnings and errors still show; info lines of opening stores would only clutter the output. */
export const quietLog: Logger = { ...base, debug: () => {}, info: () => {}, child: () => quietLog };

export interface MappingHub {
  store: Store;
  exams: ExamService;
}

export async function loadTestFacilities(exams: ExamService): Promise<void> {
  await exams.facilities.loadDir(path.join(repoRoot, 'config', 'facilities'));
  const extra: unknown = JSON.parse(await readFile(path.join(mappingFixtures, 'orders', 'facilities.json'), 'utf8'));
  for (const facility of extra as unknown[]) await exams.facilities.save(facility);
}

export async function openMappingHub(t: ExecutionContext): Promise<MappingHub> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-hl7-mapping-'));
  const store = await openStore({ dataDir: dir, log: quietLog });
  const exams = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000 });
  await exams.start();
  t.teardown(async () => {
    await exams.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await loadTestFacilities(exams);
  return { store, exams };
}

export function examDestination(
  exams: ExamService,
  settings: unknown,
  channelId = 'orders-test',
): DestinationConnector {
  const type = examDestinationType(exams);
  return type.create(type.parseSettings(settings, 'destinations[0].connector.settings'), {
    channelId,
    destinationName: 'exams',
    log: quietLog,
  });
}

let sent = 0;

/** Sends one fixture file through the destination as the queue worker would. */
export async function sendFixture(destination: DestinationConnector, relative: string): Promise<SendResult> {
  const content = await readFile(path.join(mappingFixtures, relative), 'utf8');
  sent++;
  return destination.send({
    messageId: `msg-${sent}`,
    channelId: 'orders-test',
    destinationName: 'exams',
    content,
    dataType: 'hl7v2',
    attempt: 1,
  });
}

/** Asks the destination's check about one fixture file, as the pipeline does before the ACK (an empty queue). */
export async function checkFixture(destination: DestinationConnector, relative: string): Promise<Refusal | undefined> {
  const content = await readFile(path.join(mappingFixtures, relative), 'utf8');
  if (!destination.check) throw new Error('the destination has no check');
  return destination.check({
    channelId: 'orders-test',
    destinationName: 'exams',
    content,
    dataType: 'hl7v2',
    queued: async () => [],
  });
}
