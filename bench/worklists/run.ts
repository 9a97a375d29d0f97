// The facility's work lists at scale: with 50,000 exams of one facility in the store (BENCH_EXAMS), the active
// and completed lists' first page through the real hub's API (HTTP, bearer token, report state, live study counts,
// report deliveries from the message store) beside the store query alone (the same find/sort/limit on the same
// store, from this process) in the same run. p50/p99 over BENCH_REQUESTS sequential requests each; the goal is
// p99 under 300 ms to the first rows. The exams are written straight into the hub's embedded store (a second
// process on one store is safe, DESIGN.md "Storage"): 10 % open, 90 % reported, shaped as the exam service writes
// them. Command: `npm run bench -- worklists`.
import { closedStatuses, type ExamStatus } from '../../exams/lifecycle.ts';
import type { Exam } from '../../exams/exam.ts';
import type { MessageDoc } from '../../channels/message-store.ts';
import { ObjectId } from 'bson';
import { createLogger } from '../../runtime/log.ts';
import { openStore } from '../../store/open.ts';
import { facilitiesDir } from '../../test/exams/setup.ts';
import { adminToken, startHub, stopHub, waitHealthy } from '../../test/support/hub-process.ts';
import { machineLine, percentile, timedRuns, writeSection } from '../report.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const examCount = Number(process.env['BENCH_EXAMS'] ?? 50_000);
const requests = Number(process.env['BENCH_REQUESTS'] ?? 200);
const page = 100;
const priorities = ['stat', 'asap', 'urgent', 'routine'] as const;

function examDoc(i: number): Exam {
  const open = i % 10 === 0;
  const at = new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString();
  const examNumber = `RSO-2025-${String(i + 1).padStart(6, '0')}`;
  const priority = priorities[i % 7 === 0 ? 0 : 3]!;
  return {
    _id: examNumber,
    examNumber,
    identifiers: [{ kind: 'placer', value: `P${i}` }],
    identifierKeys: [`VALLEYGEN|placer|P${i}`],
    facility: 'VALLEYGEN',
    patientId: `patient-${i % 20_000}`,
    procedure: { code: 'CTCHEST', text: 'CT chest with contrast' },
    modality: 'CT',
    priority,
    priorityRank: priorities.indexOf(priority),
    status: open ? 'images-received' : 'final',
    studies: [{ studyInstanceUid: `2.25.${i + 1}`, instanceCount: 200, receivedAt: at, completedAt: at }],
    reports: open ? [] : [{ id: `${examNumber}-R1`, status: 'final', issuedAt: at, author: 'rad-chen' }],
    version: open ? 2 : 5,
    createdAt: at,
    updatedAt: at,
    history: [{ at, version: 1, event: 'exam.created', by: { actor: 'bench', via: 'hl7' } }],
    outbox: [],
  } as unknown as Exam;
}

/** The report channel's stored `report.issued` message of a reported exam, with its two deliveries. */
function reportMessage(i: number): MessageDoc {
  const at = new Date(Date.UTC(2025, 0, 1) + i * 60_000 + 30_000);
  const delivery = (name: string) => ({ name, state: 'sent' as const, attempts: 1, response: 'AA', updatedAt: at });
  return {
    _id: new ObjectId().toHexString(),
    channelId: 'reports-to-ehr',
    revision: 1,
    receivedAt: at,
    dataType: 'json',
    raw: JSON.stringify({ type: 'report.issued', examNumber: `RSO-2025-${String(i + 1).padStart(6, '0')}` }),
    source: {},
    state: 'processed',
    messageType: 'report.issued',
    orderNumber: `RSO-2025-${String(i + 1).padStart(6, '0')}`,
    destinations: [delivery('ehr-oru'), delivery('ehr-fhir')],
  };
}

function stats(times: number[]): { p50: number; p99: number } {
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

function timed(run: () => Promise<unknown>): Promise<number[]> {
  return timedRuns(run, requests);
}

const valley = JSON.parse(await readFile(path.join(facilitiesDir, 'valley-general.json'), 'utf8'));
const { radiologistPacs: _pacs, moveDestinations: _move, ...facility } = valley;
const hub = await startHub({ facilities: [facility] });
try {
  await waitHealthy(hub, 60_000);
  const log = createLogger({ bench: 'worklists' });
  const store = await openStore({ dataDir: hub.dataDir, log: { ...log, info: () => {} } });
  const exams = store.db.collection<Exam>('exams');
  for (let i = 0; i < examCount; i += 1000)
    await exams.insertMany(Array.from({ length: Math.min(1000, examCount - i) }, (_, j) => examDoc(i + j)));
  const messages = store.db.collection<MessageDoc>('messages');
  const reported = Array.from({ length: examCount }, (_, i) => i).filter((i) => i % 10 !== 0);
  for (let i = 0; i < reported.length; i += 1000)
    await messages.insertMany(reported.slice(i, i + 1000).map(reportMessage));
  const headers = { authorization: `Bearer ${adminToken}` };
  const viaApi = (list: string) => async () => {
    const response = await fetch(hub.url(`/api/facilities/VALLEYGEN/${list}?limit=${page}`), { headers });
    const rows = (await response.json()) as unknown[];
    if (!response.ok || rows.length !== page) throw new Error(`${list}: ${response.status}, ${rows.length} rows`);
  };
  const reportedBack: ExamStatus[] = ['final', 'amended', 'completed'];
  const alone = {
    active: () =>
      exams
        .find(
          { facility: 'VALLEYGEN', status: { $nin: [...closedStatuses, ...reportedBack] } },
          { projection: { history: 0, outbox: 0 } },
        )
        .sort({ priorityRank: 1, createdAt: 1, _id: 1 })
        .limit(page)
        .toArray(),
    completed: () =>
      exams
        .find({ facility: 'VALLEYGEN', status: { $in: reportedBack } }, { projection: { history: 0, outbox: 0 } })
        .sort({ updatedAt: -1, _id: 1 })
        .limit(page)
        .toArray(),
  };
  const rows: string[] = [];
  for (const list of ['active', 'completed'] as const) {
    const api = stats(await timed(viaApi(list)));
    const query = stats(await timed(alone[list]));
    const ok = api.p99 < 300 ? 'yes' : 'no';
    rows.push(
      `| ${list} | ${api.p50.toFixed(1)} | ${api.p99.toFixed(1)} | ${query.p50.toFixed(1)} | ${query.p99.toFixed(1)} | ${ok} |`,
    );
    console.log(rows.at(-1));
  }
  await store.close();
  await writeSection(
    'worklists',
    `## Work lists (first page of ${page} with ${examCount.toLocaleString('en')} exams of one facility)

\`npm run bench -- worklists\` · ${machineLine()}

${requests} sequential requests per row after 5 warm-up ones; 10 % of the exams open, 90 % reported. "API" is
\`GET /api/facilities/:code/active|completed?limit=${page}\` on the real hub over HTTP (auth, report state, live
study counts, report deliveries: one \`report.issued\` message with two deliveries per reported exam in the
message store); "store query alone" is the same find/sort/limit on the same embedded store
from the benchmark's process.

| list | API p50 ms | API p99 ms | store query alone p50 ms | store query alone p99 ms | API p99 < 300 ms |
| --- | ---: | ---: | ---: | ---: | --- |
${rows.join('\n')}
`,
  );
} finally {
  await stopHub(hub, 'SIGKILL');
}
