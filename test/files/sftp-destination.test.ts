// The 'sftp-file' destination against a real SFTP server (OpenSSH's sftp-server, test/files/sftp-peer.ts): HL7
// messages read from a dropped batch file are written into a remote folder, each complete under its final name
// and nothing half-written left behind; a server whose host key is not the pinned one is never sent the password,
// and the messages wait in the queue with the reason until the setting is right.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { until } from '../support/channels.ts';
import { api, startHub, stopHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { startSftpPeer } from './sftp-peer.ts';

const run = promisify(execFile);
const password = 'sftp peer secret';

function adt(id: string): string {
  return [`MSH|^~\\&|RIS|EAST|RSO|RSO|20240611093000||ADT^A08|${id}|P|2.5`, `PID|1||MRN-${id}`].join('\r');
}

function channel(dir: string, remote: Record<string, unknown>) {
  return {
    id: 'to-sftp',
    name: 'HL7 drops to a partner SFTP folder',
    enabled: true,
    source: { type: 'file-drop', settings: { directory: dir, pattern: '*.hl7', pollMs: 100, stableMs: 0 } },
    destinations: [
      {
        name: 'partner',
        connector: { type: 'sftp-file', settings: { directory: 'out', fileName: '{messageId}.hl7', ...remote } },
        queue: 'unordered',
        retry: { initialDelayMs: 200, maxDelayMs: 500, multiplier: 2 },
        maxAttempts: 0,
      },
    ],
  };
}

async function dropBatch(dir: string, ids: string[]): Promise<void> {
  await writeFile(path.join(dir, '.batch.part'), ids.map(adt).join('\r\n'));
  await rename(path.join(dir, '.batch.part'), path.join(dir, 'batch.hl7'));
}

interface Summary {
  _id: string;
  controlId?: string;
  destinations: Array<{ name: string; state: string; attempts: number; lastError?: string; response?: string }>;
}

async function messages(hub: HubProcess): Promise<Summary[]> {
  return ((await (await api(hub, '/api/messages?channelId=to-sftp&limit=500')).json()) as { items: Summary[] }).items;
}

test.serial(
  'messages are written into the remote folder whole, under their final names, with a password',
  async (t) => {
    const root = await tempDir('sftp-root');
    await mkdir(path.join(root, 'out'));
    const peer = await startSftpPeer(root, { user: 'partner', password });
    t.teardown(() => peer.close());
    const dir = await tempDir('drop');
    const remote = {
      host: '127.0.0.1',
      port: peer.port,
      user: 'partner',
      passwordEnv: 'PARTNER_SFTP_PASSWORD',
      hostKeySha256: peer.fingerprint,
    };
    const hub = await startHub({ channels: [channel(dir, remote)], env: { PARTNER_SFTP_PASSWORD: password } });
    t.teardown(() => void stopHub(hub, 'SIGKILL'));
    await waitHealthy(hub);
    await dropBatch(dir, ['P-1', 'P-2', 'P-3']);
    await until(
      async () => (await messages(hub)).filter((m) => m.destinations[0]?.state === 'sent').length === 3,
      30_000,
      'three messages sent',
    );
    const stored = await messages(hub);
    const names = (await readdir(path.join(root, 'out'))).sort();
    t.deepEqual(names, stored.map((m) => `${m._id}.hl7`).sort());
    for (const message of stored) {
      const text = await readFile(path.join(root, 'out', `${message._id}.hl7`), 'utf8');
      t.is(text, `${adt(message.controlId ?? '')}\r`);
      t.is(message.destinations[0]?.response, `out/${message._id}.hl7`);
    }
    t.true(peer.logins.includes('password'));
  },
);

test.serial('a private key logs in too', async (t) => {
  const root = await tempDir('sftp-root');
  await mkdir(path.join(root, 'out'));
  const keys = await tempDir('sftp-keys');
  const key = path.join(keys, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const peer = await startSftpPeer(root, { user: 'partner', publicKey: await readFile(`${key}.pub`, 'utf8') });
  t.teardown(() => peer.close());
  const dir = await tempDir('drop');
  const remote = {
    host: '127.0.0.1',
    port: peer.port,
    user: 'partner',
    privateKeyFile: key,
    hostKeySha256: peer.fingerprint,
  };
  const hub = await startHub({ channels: [channel(dir, remote)] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  await dropBatch(dir, ['K-1']);
  // The temp file under its dot name shows up first; the final name only once it is whole.
  const finals = async () => (await readdir(path.join(root, 'out'))).filter((n) => !n.startsWith('.'));
  await until(async () => (await finals()).length === 1, 30_000, 'one file written');
  const [name] = await finals();
  t.is(await readFile(path.join(root, 'out', name!), 'utf8'), `${adt('K-1')}\r`);
});

test.serial('a server with another host key never sees the password; the message waits with the reason', async (t) => {
  const root = await tempDir('sftp-root');
  await mkdir(path.join(root, 'out'));
  const peer = await startSftpPeer(root, { user: 'partner', password });
  t.teardown(() => peer.close());
  const dir = await tempDir('drop');
  const pinned = `SHA256:${'A'.repeat(43)}`;
  const remote = {
    host: '127.0.0.1',
    port: peer.port,
    user: 'partner',
    passwordEnv: 'PARTNER_SFTP_PASSWORD',
    hostKeySha256: pinned,
  };
  const hub = await startHub({ channels: [channel(dir, remote)], env: { PARTNER_SFTP_PASSWORD: password } });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  await dropBatch(dir, ['H-1']);
  await until(async () => ((await messages(hub))[0]?.destinations[0]?.attempts ?? 0) >= 2, 30_000, 'two attempts made');
  const [message] = await messages(hub);
  t.not(message?.destinations[0]?.state, 'sent');
  t.true(
    message?.destinations[0]?.lastError?.includes(`not the pinned ${pinned}`),
    message?.destinations[0]?.lastError,
  );
  t.deepEqual(peer.logins, []);
  t.deepEqual(await readdir(path.join(root, 'out')), []);
});

test('a destination without a password or key, or with a malformed fingerprint, is refused when saved', async (t) => {
  const { sftpFileDestination } = await import('../../files/sftp-destination.ts');
  const base = { host: 'sftp.example', user: 'u', hostKeySha256: `SHA256:${'b'.repeat(43)}` };
  t.throws(() => sftpFileDestination.parseSettings(base, 'settings'), { message: /passwordEnv or privateKeyFile/ });
  t.throws(
    () => sftpFileDestination.parseSettings({ ...base, passwordEnv: 'X', hostKeySha256: 'md5:aa' }, 'settings'),
    {
      message: /settings\.hostKeySha256/,
    },
  );
  t.throws(() => sftpFileDestination.parseSettings({ ...base, passwordEnv: 'X', password: 'clear' }, 'settings'), {
    message: /password/,
  });
  t.like(sftpFileDestination.parseSettings({ ...base, passwordEnv: 'X' }, 'settings'), { port: 22, directory: '.' });
});
