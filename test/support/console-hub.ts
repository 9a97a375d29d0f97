// The hub the console's browser tests run against: one MLLP relay channel (orders in, out to an EHR that
// answers AA), a connected sender, and the password the hub generated for `admin` at its first start.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { MllpTestClient, MllpTestListener } from '../hl7/mllp-peer.ts';
import { mllpRelayChannel } from './channels.ts';
import { freePort, type HubOptions, type HubProcess, startHub, stopHub, waitHealthy } from './hub-process.ts';

export interface ConsoleHub {
  hub: HubProcess;
  ehr: MllpTestListener;
  client: MllpTestClient;
  inPort: number;
}

/** A hub with the channel `relay`; `options` adds facilities or replaces the config. */
export async function startConsoleHub(
  t: ExecutionContext,
  options: Omit<HubOptions, 'channels'> = {},
): Promise<ConsoleHub> {
  const [inPort, outPort] = [await freePort(), await freePort()];
  const ehr = await MllpTestListener.start(() => 'AA', outPort);
  t.teardown(() => void ehr.stop());
  const hub = await startHub({ ...options, channels: [mllpRelayChannel('relay', inPort, outPort)] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(inPort);
  t.teardown(() => void client.close());
  return { hub, ehr, client, inPort };
}

/** The password the hub generated for `admin` on its first start (composition/console.ts). */
export async function firstAdminPassword(hub: HubProcess): Promise<string> {
  return (await readFile(path.join(hub.dataDir, 'admin-password'), 'utf8')).trim();
}
