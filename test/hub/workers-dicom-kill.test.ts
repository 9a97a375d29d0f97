// Nothing lost, nothing doubled, for images (issue 18): two hub processes (hub.workers: 2) on one embedded store
// take a 300-instance study from dcmtk's storescu, and the process serving the association is killed with SIGKILL
// in the middle of it. Every instance storescu was told was stored must reach the radiologist's PACS (dcmtk's
// storescp, writing each arrival under a file name of its own, so an instance sent twice shows as two files), and
// none may arrive twice. The study is routed by whichever process holds the exam-events lease after the kill.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { until } from '../support/channels.ts';
import { freePort, startHub, stopHub, tempDir, waitHealthy } from '../support/hub-process.ts';
import { answeringPids, workersConfig } from '../support/workers.ts';
import { dcmtkEnv, missingBinaries, stopChild, waitForPort } from '../dicom/peers.ts';
import {
  acknowledged,
  dicomTestConfig,
  hubAe,
  pacsDeliveries,
  studiesToPacsChannel,
  valleyFacility,
  writeStudy,
} from './dicom-support.ts';

const run = promisify(execFile);
const INSTANCES = 300;
const KILL_AFTER = 100;

test.before('dcmtk and ss are installed (CI: apt-get install -y dcmtk iproute2)', () => {
  const missing = missingBinaries(['storescu', 'storescp', 'dcmdump', 'ss']);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y dcmtk iproute2`);
});

/** The hub process at the other end of storescu's connection (ss names the socket's owner; we run as its user). */
async function processServing(port: number, candidates: Set<number>): Promise<number | undefined> {
  const { stdout } = await run('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`]);
  for (const match of stdout.matchAll(/pid=(\d+)/g)) {
    const pid = Number(match[1]);
    if (candidates.has(pid)) return pid;
  }
  return undefined;
}

/** SOP Instance UID of every file storescp wrote (one dcmdump for all of them). */
async function receivedUids(dir: string): Promise<string[]> {
  const files = (await readdir(dir)).map((name) => path.join(dir, name));
  if (files.length === 0) return [];
  const { stdout } = await run('dcmdump', ['-q', '+P', '0008,0018', ...files], {
    env: dcmtkEnv,
    maxBuffer: 16 * 2 ** 20,
  });
  return [...stdout.matchAll(/\(0008,0018\) UI \[([^\]]+)\]/g)].map((m) => m[1]!);
}

test('kill -9 of the worker receiving a 300-instance study: every acknowledged instance reaches the PACS once', async (t) => {
  const pacsDir = await tempDir('workers-pacs');
  const pacsPort = await freePort();
  const pacs: ChildProcess = spawn('storescp', ['+uf', '-aet', 'RSO_PACS', '-od', pacsDir, String(pacsPort)], {
    env: dcmtkEnv,
    stdio: 'ignore',
  });
  t.teardown(() => stopChild(pacs));
  await waitForPort(pacsPort, 'storescp');

  const hub = await startHub({
    config: workersConfig(2, 5, dicomTestConfig),
    facilities: [await valleyFacility({ radiologistPacs: { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: pacsPort } })],
    channels: [studiesToPacsChannel()],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const workers = await answeringPids(hub, 2);

  const study = await writeStudy(INSTANCES, { patientId: 'WORKERS-KILL', accessionNumber: '' });
  const modality = spawn(
    'storescu',
    ['-v', '-aet', 'VALLEY_CT', '-aec', hubAe, '127.0.0.1', String(hub.dicomPort), ...study.files],
    { env: dcmtkEnv },
  );
  let log = '';
  let stored = 0;
  let victim: number | undefined;
  const killing: Promise<void>[] = [];
  const collect = (chunk: Buffer): void => {
    log += chunk.toString();
    stored = log.split('Received Store Response (Success)').length - 1;
    if (stored >= KILL_AFTER && killing.length === 0) {
      killing.push(
        processServing(hub.dicomPort, workers).then((pid) => {
          // The association is the one in flight; were it not found, any worker is killed and the run still checks
          // that nothing acknowledged is lost.
          victim = pid ?? [...workers][0]!;
          process.kill(victim, 'SIGKILL');
        }),
      );
    }
  };
  modality.stdout.on('data', collect);
  modality.stderr.on('data', collect);
  await new Promise((resolve) => modality.once('close', resolve));
  await Promise.all(killing);
  t.not(victim, undefined, 'a worker was killed while the study came in');

  const acked = acknowledged({ code: 0, stdout: log, stderr: '' }, study);
  t.log(`${acked.length} of ${INSTANCES} instances acknowledged before the kill cut the association`);
  t.true(acked.length >= KILL_AFTER && acked.length < INSTANCES, 'the kill cut the study in the middle');

  // The partial study completes after its quiet time and is routed by a surviving (or restarted) process.
  await until(
    async () => {
      // A request that reaches the killed process's listening socket while the kernel tears it down is reset (CI,
      // 2026-12-06: "other side closed" within a second of the kill); a client asks again, and so does this poll.
      const deliveries = await pacsDeliveries(hub).catch((error: unknown) => {
        if (error instanceof Error && /other side closed|ECONNRESET|ECONNREFUSED/.test(error.message)) return undefined;
        throw error;
      });
      return deliveries !== undefined && deliveries.length > 0 && deliveries.every((d) => d.state === 'sent');
    },
    180_000,
    'the study delivered to the PACS',
  );
  const received = await receivedUids(pacsDir);
  const counts = new Map<string, number>();
  for (const uid of received) counts.set(uid, (counts.get(uid) ?? 0) + 1);
  t.deepEqual(
    [...counts].filter(([, n]) => n > 1),
    [],
    'no instance twice at the PACS',
  );
  t.deepEqual(
    acked.filter((uid) => !counts.has(uid)),
    [],
    'no acknowledged instance lost',
  );
  const foreign = received.filter((uid) => !study.sopInstanceUids.includes(uid));
  t.deepEqual(foreign, [], 'only the study’s instances');
  // The one instance in flight at the kill may have been stored without its answer: at most that one more.
  t.true(received.length <= acked.length + 1, `${received.length} received for ${acked.length} acknowledged`);
  t.is(await stopHub(hub), 0);
});
