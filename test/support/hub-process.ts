// Starts the real hub (`node hub.ts`) as a child process with its own config, data dir and free ports, the way
// an operator runs it, so tests see what a user sees: exit codes, stderr lines, HTTP answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.join(import.meta.dirname, '..', '..');

/**
 * A port nobody listens on, for a peer or a hub that binds it a moment later. Chosen below the kernel's ephemeral
 * range (ip_local_port_range starts at 32768): a port that `listen(0)` handed out comes from that range, and before
 * the hub bound it an outgoing connection of any process could take it as its local port ("port already in use" in
 * CI). Test processes run side by side, so a port is also claimed by a file under the temp dir before it is
 * handed out: two processes that drew the same number could otherwise both find it free, and one's check would
 * hold it at the moment the other's hub binds (the hub's channel then fails to listen: ECONNREFUSED in CI).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await claimPort(port)) && (await canListen(port))) return port;
  }
  throw new Error('no free port between 20000 and 32000 after 200 tries');
}

const portClaims = path.join(os.tmpdir(), 'rso-hub-test-ports');
/** A claim older than this belongs to a run that is over, so its port may be drawn again. */
const claimLifetimeMs = 30 * 60_000;

let claimsDir: Promise<unknown> | undefined;

async function claimPort(port: number): Promise<boolean> {
  claimsDir ??= mkdir(portClaims, { recursive: true });
  await claimsDir;
  const claim = path.join(portClaims, String(port));
  const create = () =>
    writeFile(claim, String(process.pid), { flag: 'wx' }).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return false;
        throw error;
      },
    );
  if (await create()) return true;
  const age = await stat(claim).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  if (age < claimLifetimeMs) return false;
  // Two processes taking over the same stale claim at the same moment could both get it; the canListen check
  // after the claim still stands, and a claim lives 30 minutes, so this is far rarer than the race it replaces.
  await rm(claim, { force: true });
  return create();
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    // Plain listeners, not events.once(): once(server, 'listening') rejects on 'error', and a port in use must
    // answer false, not throw.
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `rso-${prefix}-`));
}

export interface HubProcess {
  child: ChildProcess;
  port: number;
  dicomPort: number;
  dataDir: string;
  configFile: string;
  stdout(): string;
  stderr(): string;
  url(pathname: string): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export interface HubOptions {
  /** YAML text; `{{dataDir}}` and `{{port}}` are filled in. */
  config?: string;
  dataDir?: string;
  port?: number;
  /** The DICOM listener's port; a free one by default, so hubs of concurrent tests never collide. */
  dicomPort?: number;
  env?: NodeJS.ProcessEnv;
  /** Channel definitions written as <id>.json into the channels dir the config names. */
  channels?: Array<{ id: string } & Record<string, unknown>>;
  /** Facilities written as <code>.json into the facilities dir. */
  facilities?: Array<{ code: string } & Record<string, unknown>>;
  /** The checkout whose hub.ts runs (this one by default); benchmarks start an older one beside it for A/B. */
  root?: string;
}

export const defaultTestConfig = `dataDir: {{dataDir}}
logLevel: info
http:
  host: 127.0.0.1
  port: {{port}}
auth:
  tokens:
    - name: test-admin
      # sha256 of "test-admin-token"
      sha256: 17d6bfe05d1b1fb7bc499f8e3f639c7b3eda4c40f321eef8887a0c04c89a99c5
      roles: [admin]
scheduler:
  processEveryMs: 200
channels:
  dir: {{channelsDir}}
facilities:
  dir: {{facilitiesDir}}
`;

export const adminToken = 'test-admin-token';

/** fetch() against the hub with the test admin token. */
export function api(hub: HubProcess, pathname: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${adminToken}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(hub.url(pathname), { ...init, headers }).catch((error: unknown) => {
    throw new Error(`${init.method ?? 'GET'} ${pathname} failed: ${describeFailure(hub, error)}`, { cause: error });
  });
}

/** Why a fetch to the hub failed, with what the hub was doing: "fetch failed" alone says nothing in a CI log. */
function describeFailure(hub: HubProcess, error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
  const state =
    hub.child.exitCode !== null || hub.child.signalCode !== null
      ? `hub exited (${hub.child.exitCode ?? hub.child.signalCode})`
      : 'hub running';
  return `${cause}; ${state}; stderr tail: ${hub.stderr().slice(-2000)}; stdout tail: ${hub.stdout().slice(-2000)}`;
}

export async function startHub(options: HubOptions = {}): Promise<HubProcess> {
  const dataDir = options.dataDir ?? (await tempDir('hub-data'));
  const port = options.port ?? (await freePort());
  const dicomPort = options.dicomPort ?? (await freePort());
  const configDir = await tempDir('hub-config');
  const configFile = path.join(configDir, 'hub.yaml');
  const text = (options.config ?? defaultTestConfig)
    .replaceAll('{{dataDir}}', dataDir)
    .replaceAll('{{port}}', String(port))
    .replaceAll('{{channelsDir}}', path.join(configDir, 'channels'))
    .replaceAll('{{facilitiesDir}}', path.join(configDir, 'facilities'));
  await writeFile(configFile, text);
  await writeAll(path.join(configDir, 'channels'), options.channels ?? [], (c) => c.id);
  await writeAll(path.join(configDir, 'facilities'), options.facilities ?? [], (f) => f.code);
  const root = options.root ?? repoRoot;
  const child = spawn(process.execPath, [path.join(root, 'hub.ts')], {
    cwd: root,
    env: { ...process.env, HUB_CONFIG: configFile, HUB_DICOM_PORT: String(dicomPort), MONGODB_URL: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A test that fails or times out must not leave its hub running: orphans load the machine for every later test.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => process.off('exit', reap));
  return {
    child,
    port,
    dicomPort,
    dataDir,
    configFile,
    stdout: () => out,
    stderr: () => err,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    exited,
  };
}

async function writeAll<T>(dir: string, items: readonly T[], name: (item: T) => string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const item of items) await writeFile(path.join(dir, `${name(item)}.json`), JSON.stringify(item, null, 2));
}

/**
 * Polls /health until it answers 200, or the process exits, or the deadline passes. The deadline is generous: with
 * the browser tests' hubs and Chromium starting together on two cores, a start-up took over 30 s in CI.
 */
export async function waitHealthy(hub: HubProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void hub.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`hub exited with ${exitCode}: ${hub.stderr()}`);
    try {
      const response = await fetch(hub.url('/health'));
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  hub.child.kill('SIGKILL');
  throw new Error(
    `hub not healthy in ${timeoutMs} ms; stderr: ${hub.stderr().slice(-2000)}; stdout: ${hub.stdout().slice(-2000)}`,
  );
}

export async function stopHub(hub: HubProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (hub.child.exitCode !== null || hub.child.signalCode !== null) return hub.child.exitCode;
  hub.child.kill(signal);
  return hub.exited;
}
