// The file-drop source in the real hub process: HL7 files dropped in a folder become messages of the channel (one
// per message of a batch file) and move to done/; a file that cannot be split goes to error/ with its reason; and
// a hub killed with SIGKILL in the middle of a batch file finishes it at its next start, each message stored once.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { until } from '../support/channels.ts';
import { api, startHub, stopHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';

function dropChannel(dir: string, outbox: string) {
  return {
    id: 'drops',
    name: 'HL7 file drops',
    enabled: true,
    source: { type: 'file-drop', settings: { directory: dir, pattern: '*.hl7', pollMs: 100, stableMs: 200 } },
    destinations: [
      { name: 'outbox', connector: { type: 'file', settings: { directory: outbox, sync: false } }, queue: 'unordered' },
    ],
  };
}

function adt(id: string): string {
  return [`MSH|^~\\&|RIS|EAST|RSO|RSO|20240611093000||ADT^A08|${id}|P|2.5`, `PID|1||MRN-${id}`].join('\r');
}

function batch(ids: string[]): string {
  return ['FHS|^~\\&|RIS', 'BHS|^~\\&|RIS', ...ids.map(adt), `BTS|${ids.length}`, 'FTS|1'].join('\r\n');
}

interface Summary {
  controlId?: string;
  source: Record<string, string>;
}

async function messages(hub: HubProcess): Promise<Summary[]> {
  const all: Summary[] = [];
  for (let skip = 0; ; skip += 500) {
    const response = await api(hub, `/api/messages?channelId=drops&limit=500&skip=${skip}`);
    const page = (await response.json()) as { total: number; items: Summary[] };
    all.push(...page.items);
    if (all.length >= page.total || page.items.length === 0) return all;
  }
}

/** Written under a dot name and renamed in, as a well-behaved sender does; the drop ignores dot files. */
async function drop(dir: string, name: string, text: string): Promise<void> {
  await writeFile(path.join(dir, `.${name}.part`), text);
  await rename(path.join(dir, `.${name}.part`), path.join(dir, name));
}

test.serial('a single message and a batch of three become four messages; the files move to done/', async (t) => {
  const dir = await tempDir('drop');
  const hub = await startHub({ channels: [dropChannel(dir, await tempDir('outbox'))] });
  try {
    await waitHealthy(hub);
    await drop(dir, 'one.hl7', adt('S-1'));
    await drop(dir, 'batch.hl7', batch(['B-1', 'B-2', 'B-3']));
    await drop(dir, 'broken.hl7', 'PID|1||nobody\r');
    await writeFile(path.join(dir, 'notes.txt'), 'not matched by *.hl7');
    await until(async () => (await readdir(path.join(dir, 'done'))).length === 2, 20_000, 'two files done');
    await until(async () => (await readdir(path.join(dir, 'error'))).length === 2, 20_000, 'one file refused');
    const stored = await messages(hub);
    t.deepEqual(stored.map((m) => m.controlId).sort(), ['B-1', 'B-2', 'B-3', 'S-1']);
    t.like(
      stored.find((m) => m.controlId === 'B-2'),
      { source: { file: 'batch.hl7', entry: '2', entries: '3' } },
    );
    t.deepEqual((await readdir(path.join(dir, 'done'))).sort(), ['batch.hl7', 'one.hl7']);
    t.is(
      await readFile(path.join(dir, 'error', 'broken.hl7.reason.txt'), 'utf8'),
      'segment 1 (PID) comes before any MSH\n',
    );
    t.deepEqual((await readdir(dir)).filter((n) => !n.startsWith('.')).sort(), ['done', 'error', 'notes.txt']);
  } finally {
    await stopHub(hub, 'SIGKILL');
  }
});

test.serial(
  'a hub killed in the middle of a batch file finishes it at its next start, each message once',
  async (t) => {
    const dir = await tempDir('drop');
    const outbox = await tempDir('outbox');
    const dataDir = await tempDir('hub-data');
    const count = 1500;
    const ids = Array.from({ length: count }, (_, i) => `K-${i + 1}`);
    let hub = await startHub({ dataDir, channels: [dropChannel(dir, outbox)] });
    let killedMidway = false;
    try {
      await waitHealthy(hub);
      await drop(dir, 'big.hl7', batch(ids));
      await until(async () => (await messages(hub).then((m) => m.length)) > 0, 30_000, 'the first message stored');
      await stopHub(hub, 'SIGKILL');
      await mkdir(path.join(dir, 'done'), { recursive: true });
      killedMidway = (await readdir(path.join(dir, '.processing'))).length === 1;
      hub = await startHub({ dataDir, channels: [dropChannel(dir, outbox)] });
      await waitHealthy(hub);
      await until(async () => (await readdir(path.join(dir, 'done'))).includes('big.hl7'), 60_000, 'big.hl7 done');
      const stored = (await messages(hub)).map((m) => m.controlId);
      t.is(stored.length, count);
      t.deepEqual(new Set(stored).size, count);
      t.deepEqual((await readdir(path.join(dir, '.processing'))).length, 0);
      t.log(killedMidway ? 'killed while big.hl7 was being read' : 'the first run had already finished big.hl7');
    } finally {
      await stopHub(hub, 'SIGKILL');
    }
  },
);
