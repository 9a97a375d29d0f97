// The hub path of the HL7 benchmark: mllp source -> channel engine -> durable embedded store -> ACK, and
// optionally a queued MLLP destination. Used in the benchmark's own process and in hub-child.ts (hub.workers rows).
import { registerBuiltinConnectors } from '../../channels/builtin-connectors.ts';
import { parseChannelDefinition } from '../../channels/definition-schema.ts';
import { ChannelEngine } from '../../channels/engine.ts';
import { ChannelRegistry } from '../../channels/registry.ts';
import { registerHl7Connectors } from '../../hl7/register.ts';
import { createLogger } from '../../runtime/log.ts';
import { openStore } from '../../store/open.ts';
import { freePort } from '../../test/support/hub-process.ts';

/** The hub path: mllp source -> engine -> embedded store, and optionally a queued MLLP destination. */
export async function startHub(
  dir: string,
  deliverTo?: number,
  fixedPort?: number,
): Promise<{ port: number; close: () => Promise<void> }> {
  const log = createLogger({ bench: 'hl7' });
  const store = await openStore({ dataDir: dir, log });
  const registry = new ChannelRegistry();
  registerBuiltinConnectors(registry);
  registerHl7Connectors(registry);
  const engine = new ChannelEngine({ db: store.db, registry, log });
  await engine.start();
  const port = fixedPort ?? (await freePort());
  const definition = parseChannelDefinition(
    {
      id: 'bench-orders',
      name: 'bench orders',
      source: { type: 'mllp', settings: { host: '127.0.0.1', port } },
      destinations:
        deliverTo === undefined
          ? []
          : [
              {
                name: 'ris',
                connector: { type: 'mllp', settings: { host: '127.0.0.1', port: deliverTo } },
                queue: 'ordered',
              },
            ],
    },
    registry,
  );
  const [status] = await engine.deploy({ definition, revision: 0 });
  if (status?.status !== 'deployed') throw new Error(`bench channel not deployed: ${status?.error}`);
  return {
    port,
    close: async () => {
      await engine.stop();
      await store.close();
    },
  };
}
