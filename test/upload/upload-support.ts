// Shared set-up of the upload tests: a hub process with SFTP and FTPS on free ports and two accounts of Valley
// General (one with a password and a public key, one kept for the lockout test), a client key made with OpenSSH's
// ssh-keygen, a known_hosts line from the host key the hub generated, and runners for OpenSSH's sftp, curl and
// lftp as a technician would type them.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { dicomTestConfig, valleyFacility } from '../hub/dicom-support.ts';
import { freePort, startHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { hashPassword } from '../../upload/password-hash.ts';

const run = promisify(execFile);

export const password = 'correct horse battery';

export interface UploadHub {
  hub: HubProcess;
  sftpPort: number;
  ftpsPort: number;
  clientDir: string;
  userKey: string;
  knownHosts: string;
  certFile: string;
  uploadDir: string;
}

export interface UploadHubOptions {
  /** Overrides of the Valley General facility (e.g. its radiologist PACS). */
  facility?: Record<string, unknown>;
  channels?: Array<{ id: string } & Record<string, unknown>>;
}

export async function startUploadHub(options: UploadHubOptions = {}): Promise<UploadHub> {
  const clientDir = await tempDir('upload-client');
  const userKey = path.join(clientDir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey]);
  const publicKey = (await readFile(`${userKey}.pub`, 'utf8')).trim();
  const hash = await hashPassword(password, 10);
  const [sftpPort, ftpsPort, passive] = [
    await freePort(),
    await freePort(),
    40_000 + Math.floor(Math.random() * 20_000),
  ];
  const config = `${dicomTestConfig}upload:
  lockout: { maxFailures: 3, lockSeconds: 600, failureDelayMs: 0 }
  accounts:
    - { user: tech1, facility: VALLEYGEN, passwordHash: "${hash}", publicKeys: ["${publicKey}"] }
    - { user: tech2, facility: VALLEYGEN, passwordHash: "${hash}" }
  sftp: { enabled: true, port: ${sftpPort} }
  ftps: { enabled: true, port: ${ftpsPort}, passivePorts: "${passive}-${passive + 20}" }
`;
  const hub = await startHub({
    config,
    facilities: [await valleyFacility(options.facility)],
    ...(options.channels === undefined ? {} : { channels: options.channels }),
  });
  await waitHealthy(hub);
  const hostKey = (await readFile(path.join(hub.dataDir, 'upload', 'ssh_host_ecdsa_key.pub'), 'utf8')).trim();
  const knownHosts = path.join(clientDir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${sftpPort} ${hostKey}\n`);
  return {
    hub,
    sftpPort,
    ftpsPort,
    clientDir,
    userKey,
    knownHosts,
    certFile: path.join(hub.dataDir, 'upload', 'ftps-cert.pem'),
    uploadDir: path.join(hub.dataDir, 'uploads'),
  };
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function tool(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await run(file, args, { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 255, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export type SftpLogin = { user: string; key: true } | { user: string; password: string };

/**
 * OpenSSH's sftp in batch mode with the commands given (a leading `-` lets the batch go on after a failure).
 * A password comes in through SSH_ASKPASS, as no terminal is there to type it; `-o BatchMode=no` before `-b`
 * wins over the BatchMode=yes sftp adds for -b (ssh takes the first value of an option).
 */
export async function sftp(up: UploadHub, login: SftpLogin, commands: string[]): Promise<ToolResult> {
  const batch = path.join(up.clientDir, `batch-${Math.random().toString(36).slice(2)}`);
  await writeFile(batch, `${commands.join('\n')}\n`);
  const common = [
    '-P',
    String(up.sftpPort),
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${up.knownHosts}`,
  ];
  if ('key' in login) {
    return tool('sftp', [
      ...common,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'PasswordAuthentication=no',
      '-i',
      up.userKey,
      '-b',
      batch,
      `${login.user}@127.0.0.1`,
    ]);
  }
  const askpass = path.join(up.clientDir, `askpass-${Math.random().toString(36).slice(2)}.sh`);
  await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${login.password.replaceAll("'", "'\\''")}'\n`, { mode: 0o700 });
  return tool(
    'sftp',
    [
      ...common,
      '-o',
      'BatchMode=no',
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'PreferredAuthentications=password',
      '-o',
      'NumberOfPasswordPrompts=1',
      '-b',
      batch,
      `${login.user}@127.0.0.1`,
    ],
    { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
  );
}
