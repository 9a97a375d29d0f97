// How the rso-exams destination answers the queue: permanent problems are `failed` with the field named,
// a store that is not there is `retry` (the queue tries again later), and a parse failure is permanent.
import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ExamService } from '../../../exams/service.ts';
import { mapExamMessage } from '../../../hl7/exam-mapping.ts';
import { Hl7MappingError } from '../../../hl7/mapping-error.ts';
import { Hl7Message } from '../../../hl7/message.ts';
import { openStore } from '../../../store/open.ts';
import {
  examDestination,
  loadTestFacilities,
  mappingFixtures,
  openMappingHub,
  quietLog,
  sendFixture,
} from './exam-hub.ts';

const valley = { code: 'VALLEYGEN', sendingFacilities: ['VALLEYGEN'] };

async function fixtureMessage(relative: string): Promise<Hl7Message> {
  return Hl7Message.parse(await readFile(path.join(mappingFixtures, relative), 'utf8'));
}

test('mapping errors are typed and name the field', async (t) => {
  const message = await fixtureMessage('orders/orm-error-unsupported-control.hl7');
  const error = t.throws(() => mapExamMessage(message, { facility: valley, timeZone: 'UTC' }), {
    instanceOf: Hl7MappingError,
  });
  t.is(error?.field, 'ORC-1');
});

test('a v2.3 ORM without ORC whose OBR-25 says X (cancelled) maps to a cancel', async (t) => {
  const message = await fixtureMessage('orders/orm-nw-v23-no-orc.hl7');
  message.set('OBR-25', 'X');
  const mapped = mapExamMessage(message, {
    facility: { code: 'NORTH', sendingFacilities: ['NORTH CLINIC'] },
    timeZone: 'UTC',
  });
  t.is(mapped.kind, 'orders');
  if (mapped.kind !== 'orders') return;
  t.like(mapped.orders[0], { action: 'cancel', orderControl: 'CA', controlField: 'OBR-25' });
});

test('content that is not HL7 fails for good', async (t) => {
  const { exams } = await openMappingHub(t);
  const destination = examDestination(exams, {});
  const result = await destination.send({
    messageId: 'm1',
    channelId: 'c',
    destinationName: 'exams',
    content: '{"resourceType":"Patient"}',
    dataType: 'json',
    attempt: 1,
  });
  t.like(result, { status: 'failed', error: 'MSH: the message does not start with an MSH segment' });
});

test('a store that fails is retried, not failed', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-hl7-mapping-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await openStore({ dataDir: dir, log: quietLog });
  const exams = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000 });
  await exams.start();
  await loadTestFacilities(exams);
  await exams.stop();
  await store.close();
  const result = await sendFixture(examDestination(exams, {}), 'orders/orm-nw-v251.hl7');
  t.is(result.status, 'retry', result.status === 'sent' ? result.response : result.error);
});
