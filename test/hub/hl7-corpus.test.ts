// The HL7 fixture corpus (issue 20, Tests): real-world-shaped messages in every supported version, each sent on
// its own MLLP connection to the real hub process running the sample orders channel, and every ACK compared
// with the one test/fixtures/hl7/corpus/manifest.json expects (MSA-1, MSA-2 = MSH-10, the table 0357 code).
// Accepted messages must also reach the exams destination: an AA for a message the hub then errors is a lie.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { Hl7Message } from '../../hl7/message.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { MllpTestClient } from '../hl7/mllp-peer.ts';
import { until } from '../support/channels.ts';
import { api, freePort, repoRoot, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { valleyFacility } from './dicom-support.ts';

setLogLevel('error');

interface ExpectedAck {
  msa: string;
  /** HL7 table 0357 condition code, for an error. */
  err?: string;
}

interface Case {
  file: string;
  description: string;
  acks: ExpectedAck[];
  exams?: string;
}

const corpus = path.join(repoRoot, 'test', 'fixtures', 'hl7', 'corpus');
const manifest = JSON.parse(await readFile(path.join(corpus, 'manifest.json'), 'utf8')) as { cases: Case[] };

let hub: HubProcess;
let mllpPort: number;

test.before(async () => {
  mllpPort = await freePort();
  const channel = JSON.parse(await readFile(path.join(repoRoot, 'config', 'channels', 'orders-mllp.json'), 'utf8')) as {
    source: { settings: Record<string, unknown> };
    destinations: Array<{ name: string }>;
  };
  channel.source.settings['port'] = mllpPort;
  // The RIS copy would only queue (no RIS listens); what the corpus checks is the ACK and the exams destination.
  channel.destinations = channel.destinations.filter((destination) => destination.name === 'exams');
  hub = await startHub({ facilities: [await valleyFacility()], channels: [{ id: 'orders-mllp', ...channel }] });
  await waitHealthy(hub);
});

test.after.always(async () => {
  if (hub) await stopHub(hub, 'SIGKILL');
});

/** The error code: ERR-3 (CWE) from v2.5 on; before, the fourth component of ERR-1 (ELD), ch. 2.15.5. */
function errorCode(ack: Hl7Message): string | undefined {
  const version = ack.get('MSH-12') ?? '';
  return /^2\.[5-9]/.test(version) ? ack.get('ERR-3.1') : ack.get('ERR-1.4.1');
}

async function exchange(bytes: Buffer, count: number): Promise<Hl7Message[]> {
  const client = await MllpTestClient.connect(mllpPort);
  try {
    client.send(bytes);
    const acks: Hl7Message[] = [];
    for (let i = 0; i < count; i++) acks.push(await client.nextAck());
    return acks;
  } finally {
    await client.close();
  }
}

async function examsState(controlId: string): Promise<string | undefined> {
  const query = `channelId=orders-mllp&controlId=${encodeURIComponent(controlId)}`;
  const list = (await (await api(hub, `/api/messages?${query}`)).json()) as {
    items: Array<{ _id?: string; id?: string }>;
  };
  const id = list.items[0]?._id ?? list.items[0]?.id;
  if (id === undefined) return undefined;
  type Stored = { destinations: Array<{ name: string; state: string }> };
  const message = (await (await api(hub, `/api/messages/${id}`)).json()) as Stored;
  return message.destinations.find((destination) => destination.name === 'exams')?.state;
}

for (const item of manifest.cases) {
  test.serial(`${item.file}: ${item.description}`, async (t) => {
    const bytes = await readFile(path.join(corpus, item.file));
    const controlId = Hl7Message.parse(bytes.toString('latin1')).get('MSH-10') ?? '';
    const acks = await exchange(bytes, item.acks.length);
    t.deepEqual(
      acks.map((ack) => {
        const err = errorCode(ack);
        return { msa: ack.get('MSA-1'), controlId: ack.get('MSA-2') ?? '', ...(err === undefined ? {} : { err }) };
      }),
      item.acks.map((expected) => ({ ...expected, controlId })),
    );
    if (item.exams !== undefined) {
      const reached = async () => (await examsState(controlId)) === item.exams;
      await until(reached, 15_000, `the exams destination of ${controlId} ${item.exams}`);
      t.pass();
    }
  });
}
