// Real DICOM peers for the tests: dcmtk's command-line tools and Orthanc, each on a free loopback port with its
// data in a temp dir, stopped by pid. CI installs them (`apt-get install -y dcmtk orthanc`); a missing binary
// is a test failure, not a skip, so a broken CI image cannot pass silently.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestFn } from 'ava';
import { freePort, tempDir } from '../support/hub-process.ts';

/** dcmtk honours TCP_NODELAY=1; without it small transfers stall on delayed ACKs (PEERS.md). */
export const dcmtkEnv = { ...process.env, TCP_NODELAY: '1' };

export function missingBinaries(names: string[]): string[] {
  return names.filter((name) => spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0);
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a dcmtk tool asynchronously (a sync run would block the in-process SCP it talks to). */
export function runTool(command: string, args: string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env: dcmtkEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export interface Peer {
  port: number;
  aeTitle: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

export async function waitForPort(port: number, what: string): Promise<void> {
  const { connect } = await import('node:net');
  for (let attempt = 0; attempt < 200; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

/** storescp with +B: files are written exactly as received, so data sets can be byte-compared. */
export async function startStorescp(outputDir: string): Promise<Peer> {
  await mkdir(outputDir, { recursive: true });
  const port = await freePort();
  const child = spawn('storescp', ['+B', '-aet', 'STORESCP', '-od', outputDir, String(port)], {
    env: dcmtkEnv,
    stdio: 'ignore',
  });
  await waitForPort(port, 'storescp');
  return { port, aeTitle: 'STORESCP', child, stop: () => stopChild(child) };
}

export interface OrthancPeer extends Peer {
  httpPort: number;
  get(pathname: string): Promise<unknown>;
}

/**
 * Orthanc with its own config: loopback HTTP only, our SCU's AE title as a known modality. A test may fix the
 * DICOM port, so a PACS that was down comes back where the hub keeps sending.
 */
export async function startOrthanc(
  dir: string,
  hubAe: string,
  options: { aeTitle?: string; port?: number; plugins?: string[]; config?: Record<string, unknown> } = {},
): Promise<OrthancPeer> {
  const aeTitle = options.aeTitle ?? 'ORTHANC';
  const port = options.port ?? (await freePort());
  const httpPort = await freePort();
  await mkdir(path.join(dir, 'storage'), { recursive: true });
  const config = {
    Name: 'rso-test-pacs',
    DicomAet: aeTitle,
    DicomPort: port,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'storage'),
    DicomModalities: { hub: [hubAe, '127.0.0.1', 104] },
    DicomCheckModalityHost: false,
    Plugins: options.plugins ?? [],
    ...options.config,
  };
  const configFile = path.join(dir, 'orthanc.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const child = spawn('Orthanc', [configFile], { stdio: 'ignore', env: dcmtkEnv });
  await waitForPort(httpPort, 'Orthanc HTTP');
  await waitForPort(port, 'Orthanc DICOM');
  return {
    port,
    httpPort,
    aeTitle,
    child,
    stop: () => stopChild(child),
    get: async (pathname) => {
      const response = await fetch(`http://127.0.0.1:${httpPort}${pathname}`);
      if (!response.ok) throw new Error(`Orthanc ${pathname}: HTTP ${response.status}`);
      return response.json();
    },
  };
}

/**
 * A temp-dir maker for one test file: every dir it makes is removed when the file's tests are done, so large
 * instances do not pile up in /tmp across runs.
 */
export function removedAfterTests(test: TestFn): (prefix: string) => Promise<string> {
  const dirs: string[] = [];
  test.after.always('remove temp dirs', async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async (prefix) => {
    const dir = await tempDir(prefix);
    dirs.push(dir);
    return dir;
  };
}
