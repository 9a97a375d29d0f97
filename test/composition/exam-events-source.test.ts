// Exam events become channel messages: a channel with the `exam-events` source and a file destination receives
// each new exam once, including those created while the engine was down (the cursor survives restarts).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { registerBuiltinConnectors } from '../../channels/builtin-connectors.ts';
import { ChannelEngine } from '../../channels/engine.ts';
import { ChannelRegistry } from '../../channels/registry.ts';
import type { ExamService } from '../../exams/service.ts';
import type { HubDb } from '../../store/db.ts';
import { examEventsSourceType } from '../../composition/exam-events-source.ts';
import { until } from '../support/channels.ts';
import { openTestHub, quietLog } from '../exams/setup.ts';

async function order(exams: ExamService, placer: string) {
  return exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: { identifiers: [{ system: 'VALLEYGEN', value: `MRN-${placer}` }] },
      identifiers: [{ kind: 'placer', value: placer }],
      procedure: { code: 'CTHEAD' },
    },
    { actor: 'test', via: 'test' },
  );
}

function channel(outDir: string) {
  return {
    id: 'new-exams',
    name: 'new exams to a drop folder',
    enabled: true,
    source: { type: 'exam-events', settings: { types: ['exam.created'], pollMs: 20 } },
    destinations: [
      { name: 'drop', connector: { type: 'file', settings: { directory: outDir, fileName: '{messageId}.json' } } },
    ],
  };
}

async function startEngine(exams: ExamService, db: HubDb) {
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registry.addSource(examEventsSourceType(exams));
  const engine = new ChannelEngine({ db, registry, log: quietLog, pollIntervalMs: 50 });
  await engine.start();
  return engine;
}

async function droppedExamNumbers(dir: string): Promise<string[]> {
  // The file destination writes a hidden temp file and renames it: only finished files count.
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => !name.startsWith('.'));
  const events = await Promise.all(
    names.map(
      async (n) => JSON.parse(await readFile(path.join(dir, n), 'utf8')) as { type: string; examNumber: string },
    ),
  );
  return events.map((e) => e.examNumber).sort();
}

test('each exam.created event reaches the channel once, across an engine restart', async (t) => {
  const { store, exams, dataDir } = await openTestHub(t);
  const outDir = path.join(dataDir, 'out');
  let engine = await startEngine(exams, store.db);
  await engine.saveDefinition(channel(outDir), 'test');

  const first = await order(exams, 'P-1');
  await exams.updateOrder(first.examNumber, { priority: 'stat' }, { actor: 'test', via: 'test' });
  await exams.outbox.publishPending();
  await until(async () => (await droppedExamNumbers(outDir)).length === 1, 10_000, 'the first exam event');
  await engine.stop();

  const second = await order(exams, 'P-2');
  await exams.outbox.publishPending();
  engine = await startEngine(exams, store.db);
  t.teardown(() => engine.stop());
  await engine.deployActive();
  await until(async () => (await droppedExamNumbers(outDir)).length === 2, 10_000, 'the event created while stopped');
  t.deepEqual(
    await droppedExamNumbers(outDir),
    [first.examNumber, second.examNumber].sort(),
    'once each; exam.updated passed over',
  );
  const stored = await engine.searchMessages({ channelId: 'new-exams' });
  t.is(stored.total, 2);
  t.true(stored.items.every((m) => m.messageType === 'exam.created'));
});

test('a bad event type in the settings is refused with its path', async (t) => {
  const { store, exams } = await openTestHub(t);
  const engine = await startEngine(exams, store.db);
  t.teardown(() => engine.stop());
  const bad = { ...channel('/tmp/unused'), source: { type: 'exam-events', settings: { types: ['exam.exploded'] } } };
  const error = await t.throwsAsync(engine.saveDefinition(bad, 'test'));
  t.regex(error?.message ?? '', /^source\.settings\.types\[0\]: expected one of: exam\.created/);
});
