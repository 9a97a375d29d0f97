// The message browser over a big store, and what the dashboard's polling costs the hub (issue 14). The store is
// seeded with insertMany (synthetic ORM^O01 messages over 30 days, 5 channels, 1 in 50 in error), then the real hub
// (`node hub.ts`) opens it; each search runs through GET /api/messages and, in the same run, directly on the store
// (searchMessagePage with the same parsed query) from this process, so the gap is HTTP, auth and JSON. Polling
// cost: the hub's event-loop utilisation while HL7 traffic runs, with and without a console (polling.ts).
// `npm run bench -- console`; BENCH_CONSOLE_MESSAGES=100000 BENCH_CONSOLE_ROUNDS=1 for a quick run.
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { ObjectId } from 'bson';
import { messageSearch } from '../../admin-ui/message-query.ts';
import { searchMessagePage } from '../../channels/message-search.ts';
import { type MessageDoc, MessageStore } from '../../channels/message-store.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';
import { MllpTestListener } from '../../test/hl7/mllp-peer.ts';
import { mllpRelayChannel } from '../../test/support/channels.ts';
import { api, freePort, startHub, stopHub, tempDir, waitHealthy } from '../../test/support/hub-process.ts';
import { machineLine, percentile, writeSection } from '../report.ts';
import { measurePolling, pollingText } from './polling.ts';

const total = Number(process.env['BENCH_CONSOLE_MESSAGES'] ?? 1_000_000);
const BATCH = 5_000;
const SEARCHES = 200;
const DAYS = 30;
const channels = ['orders-a', 'orders-b', 'orders-c', 'adt-a', 'dictation'];
const now = Date.now();
const spanMs = DAYS * 86_400_000;

function message(k: number): MessageDoc {
  const receivedAt = new Date(now - spanMs + Math.floor((k * spanMs) / total));
  const error = k % 50 === 0;
  const patientId = `MRN${(k % Math.ceil(total / 5)).toString().padStart(7, '0')}`;
  const accession = `ACC${k.toString().padStart(8, '0')}`;
  const controlId = `CTL${k}`;
  return {
    _id: new ObjectId().toHexString(),
    channelId: channels[k % channels.length]!,
    revision: 1,
    receivedAt,
    dataType: 'hl7v2',
    raw: `MSH|^~\\&|RIS|VALLEYGEN|RSO HUB|RSO|20240611093000||ORM^O01|${controlId}|P|2.5.1\rPID|1||${patientId}^^^VALLEYGEN^MR||DOE^JOHN||19700101|M\rORC|NW|PLC${k}\rOBR|1|PLC${k}|FIL${k}|71020^CHEST XRAY^C4|||20240611090000||||||||||||${accession}`,
    source: { remote: '127.0.0.1' },
    state: error ? 'error' : 'processed',
    ...(error ? { error: 'the EHR refused it' } : {}),
    messageType: 'ORM^O01',
    controlId,
    patientId,
    accession,
    orderNumber: `PLC${k}`,
    sendingFacility: 'VALLEYGEN',
    destinations: [{ name: 'ehr', state: error ? 'error' : 'sent', attempts: 1, updatedAt: receivedAt }],
  };
}

async function seed(file: string): Promise<number> {
  const store = new EmbeddedStore(file);
  const messages = new MessageStore(store.db);
  await messages.open();
  const collection = store.db.collection<MessageDoc>('messages');
  const started = performance.now();
  for (let k = 0; k < total; k += BATCH) {
    const batch: MessageDoc[] = [];
    for (let i = k; i < Math.min(total, k + BATCH); i++) batch.push(message(i));
    await collection.insertMany(batch);
  }
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return seconds;
}

/** The same PRNG sequence every run. */
function picks(count: number, seedValue: number): number[] {
  let seed = seedValue;
  return Array.from({ length: count }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % total;
  });
}

type Query = Record<string, string>;
const searches: Array<{ name: string; query: (k: number) => Query }> = [
  { name: 'by accession', query: (k) => ({ accession: message(k).accession! }) },
  { name: 'by patient id', query: (k) => ({ patientId: message(k).patientId! }) },
  {
    name: 'by time range (1 h) with state=error',
    query: (k) => {
      const from = message(k).receivedAt;
      return {
        receivedFrom: from.toISOString(),
        receivedTo: new Date(from.getTime() + 3_600_000).toISOString(),
        state: 'error',
      };
    },
  },
];

const dataDir = await tempDir('bench-console');
const seedSeconds = await seed(path.join(dataDir, 'hub.sqlite'));
console.log(`seeded ${total} messages in ${seedSeconds.toFixed(1)} s`);

const [inPort, outPort] = [await freePort(), await freePort()];
const ehr = await MllpTestListener.start(() => 'AA', outPort);
const hub = await startHub({ dataDir, channels: [mllpRelayChannel('relay', inPort, outPort)] });
await waitHealthy(hub, 120_000);
const direct = new EmbeddedStore(path.join(dataDir, 'hub.sqlite'));
const directMessages = new MessageStore(direct.db);

const rows: string[] = [];
for (const search of searches) {
  const http: number[] = [];
  const local: number[] = [];
  let found = 0;
  for (const [i, k] of picks(SEARCHES, 7 + rows.length).entries()) {
    const query = { ...search.query(k), limit: '50' };
    const runHttp = async () => {
      const t0 = performance.now();
      const answer = await api(hub, `/api/messages?${new URLSearchParams(query)}`);
      const body = (await answer.json()) as { items: unknown[] };
      http.push(performance.now() - t0);
      if (answer.status !== 200) throw new Error(`${answer.status} for ${JSON.stringify(query)}`);
      found += body.items.length;
    };
    const runLocal = async () => {
      const t0 = performance.now();
      await searchMessagePage(directMessages, messageSearch(query, 500));
      local.push(performance.now() - t0);
    };
    // Alternate which side goes first, so neither always finds the page cache warm.
    if (i % 2 === 0) await runHttp().then(runLocal);
    else await runLocal().then(runHttp);
  }
  const f = (v: number) => v.toFixed(1);
  const line = `| ${search.name} | ${f(percentile(http, 50))} | ${f(percentile(http, 99))} | ${f(percentile(local, 50))} | ${f(percentile(local, 99))} | ${(found / SEARCHES).toFixed(1)} |`;
  console.log(line);
  rows.push(line);
}
await direct.close();
const searchLoad = loadavg()
  .map((v) => v.toFixed(1))
  .join(' / ');

const pollingOptions = {
  rounds: Number(process.env['BENCH_CONSOLE_ROUNDS'] ?? 3),
  // Long enough (about 15 s a round here) that the dashboard's own 5 s timer fires in its rounds.
  messages: Number(process.env['BENCH_CONSOLE_TRAFFIC'] ?? 20_000),
};
const polling = await measurePolling(hub, inPort, pollingOptions);
// The polling rounds' last minute: what the machine's other users did meanwhile.
const load = loadavg()
  .map((v) => v.toFixed(1))
  .join(' / ');
await stopHub(hub);
await ehr.stop();
await rm(dataDir, { recursive: true, force: true });

const section = `## Console: message browser over ${total.toLocaleString('en')} messages, dashboard polling

\`npm run bench -- console\` · ${machineLine()}

The embedded store seeded with ${total.toLocaleString('en')} ORM^O01 messages (insertMany in batches of ${BATCH.toLocaleString('en')}:
${seedSeconds.toFixed(0)} s), ${DAYS} days, ${channels.length} channels, 1 in 50 in error; then the real hub opens it. Each search
${SEARCHES} times with different values, a page of 50, through \`GET /api/messages\` (bearer token, JSON) and
directly on the store (\`searchMessagePage\` with the same parsed query) from the bench process, alternating which
goes first. Milliseconds; goal p99 < 200 ms. Load average after the searches ${searchLoad} (2 cores).

| search | HTTP p50 | HTTP p99 | store p50 | store p99 | items per page |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

${pollingText(polling, pollingOptions, load)}
`;
await writeSection('console', section);
console.log(section);
