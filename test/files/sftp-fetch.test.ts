// A file-drop source on a remote folder, against a real SFTP server (OpenSSH's sftp-server, test/files/sftp-peer.ts):
// an HL7 batch file and a DICOM file put there are fetched, read as if dropped locally (three messages; one
// instance through the DICOM ingest) and moved to the remote done/ folder; a claim a killed hub left in the remote
// .processing/ is finished at the next start; a server with another host key is neither sent the password nor
// touched.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { dicomTestConfig, imagingStudy, valleyFacility, writeStudy } from '../hub/dicom-support.ts';
import { until } from '../support/channels.ts';
import { api, startHub, stopHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { copyFile } from 'node:fs/promises';
import { startSftpPeer } from './sftp-peer.ts';

const password = 'remote drop secret';
const env = { REMOTE_DROP_PASSWORD: password };

function adt(id: string): string {
  return [`MSH|^~\\&|RIS|EAST|RSO|RSO|20240611093000||ADT^A08|${id}|P|2.5`, `PID|1||MRN-${id}`].join('\r');
}

function channel(localDir: string, port: number, hostKeySha256: string) {
  return {
    id: 'remote-drops',
    name: 'Files from the partner SFTP folder',
    enabled: true,
    source: {
      type: 'file-drop',
      settings: {
        directory: localDir,
        pollMs: 100,
        stableMs: 0,
        facility: 'VALLEYGEN',
        sftp: {
          host: '127.0.0.1',
          port,
          user: 'partner',
          passwordEnv: 'REMOTE_DROP_PASSWORD',
          hostKeySha256,
          directory: 'inbox',
        },
      },
    },
    destinations: [],
  };
}

async function controlIds(hub: HubProcess): Promise<string[]> {
  const page = (await (await api(hub, '/api/messages?channelId=remote-drops&limit=500')).json()) as {
    items: Array<{ controlId?: string }>;
  };
  return page.items.map((m) => m.controlId ?? '').sort();
}

test.serial('an HL7 batch and a DICOM file put on the SFTP server are read and moved to its done/', async (t) => {
  const root = await tempDir('sftp-root');
  await mkdir(path.join(root, 'inbox'));
  const peer = await startSftpPeer(root, { user: 'partner', password });
  t.teardown(() => peer.close());
  const local = await tempDir('remote-drop-local');
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [await valleyFacility()],
    channels: [channel(local, peer.port, peer.fingerprint)],
    env,
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const study = await writeStudy(1, { patientId: 'V-REMOTE-1', patientName: 'REMOTE^RITA' });
  await copyFile(study.files[0]!, path.join(root, 'inbox', 'ct.dcm'));
  await writeFile(path.join(root, 'inbox', 'batch.hl7'), ['R-1', 'R-2', 'R-3'].map(adt).join('\r\n'));
  await until(async () => (await controlIds(hub)).length === 3, 30_000, 'three messages');
  t.deepEqual(await controlIds(hub), ['R-1', 'R-2', 'R-3']);
  await until(async () => (await imagingStudy(hub, study.studyInstanceUid)) !== undefined, 30_000, 'the study');
  await until(async () => (await readdir(path.join(local, 'done'))).length === 2, 30_000, 'both done locally');
  t.deepEqual((await readdir(path.join(local, 'done'))).sort(), ['batch.hl7', 'ct.dcm']);
  t.deepEqual((await readdir(path.join(root, 'inbox', 'done'))).sort(), ['batch.hl7', 'ct.dcm']);
  t.deepEqual(await readdir(path.join(root, 'inbox', '.processing')), []);
  t.deepEqual((await readdir(path.join(root, 'inbox'))).sort(), ['.processing', 'done']);
});

test.serial('a claim left in the remote .processing/ by a killed hub is finished at the next start', async (t) => {
  const root = await tempDir('sftp-root');
  await mkdir(path.join(root, 'inbox', '.processing'), { recursive: true });
  await writeFile(path.join(root, 'inbox', '.processing', 'lx0claim1--left.hl7'), adt('L-1'));
  const peer = await startSftpPeer(root, { user: 'partner', password });
  t.teardown(() => peer.close());
  const local = await tempDir('remote-drop-local');
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [await valleyFacility()],
    channels: [channel(local, peer.port, peer.fingerprint)],
    env,
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  await until(async () => (await controlIds(hub)).length === 1, 30_000, 'the left message');
  await until(async () => (await readdir(path.join(local, 'done'))).length === 1, 30_000, 'done locally');
  t.deepEqual(await controlIds(hub), ['L-1']);
  t.deepEqual(await readdir(path.join(root, 'inbox', 'done')), ['left.hl7']);
  t.deepEqual(await readdir(path.join(root, 'inbox', '.processing')), []);
});

test.serial('a server with another host key is not sent the password and its files stay where they are', async (t) => {
  const root = await tempDir('sftp-root');
  await mkdir(path.join(root, 'inbox'));
  await writeFile(path.join(root, 'inbox', 'waiting.hl7'), adt('W-1'));
  const peer = await startSftpPeer(root, { user: 'partner', password });
  t.teardown(() => peer.close());
  const local = await tempDir('remote-drop-local');
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [await valleyFacility()],
    channels: [channel(local, peer.port, `SHA256:${'A'.repeat(43)}`)],
    env,
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  await until(async () => hub.stdout().includes('not the pinned SHA256:'), 30_000, 'the host key refused in the log');
  t.deepEqual(peer.logins, []);
  t.deepEqual(await readdir(path.join(root, 'inbox')), ['waiting.hl7']);
  t.deepEqual(await controlIds(hub), []);
});
