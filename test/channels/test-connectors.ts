// Connector types registered by the channel tests through the engine's own extension point (not mocks): an
// in-test source whose context the test drives, and a destination that records what it was sent and fails on
// command. Kept apart from the store so pure unit tests need no store.
import { expectKeys, expectObject, expectPort, expectString, join } from '../../runtime/validate.ts';
import type { Logger } from '../../runtime/log.ts';
import type {
  DestinationConnectorType,
  InboundMessage,
  OutboundMessage,
  SendResult,
  SourceConnectorType,
  SourceContext,
} from '../../channels/connector.ts';
import { registerBuiltinConnectors } from '../../channels/builtin-connectors.ts';
import { ChannelRegistry } from '../../channels/registry.ts';

export const quietLog: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => quietLog,
};

/** What one in-test destination saw and how it should answer. */
export class PeerBehaviour {
  /** While true every send answers 'retry' (the peer is down). */
  down = false;
  /** Sends whose content matches answer 'retry' (unordered tests: one bad message). */
  failWhen: RegExp | undefined;
  /** Answer 'failed' instead of 'retry' (a permanent rejection, like HL7 AR). */
  permanent = false;
  /** While set, sends wait for it (a slow peer, for in-flight deliveries at stop). */
  gate: Promise<void> | undefined;
  /** Every attempt, in order. */
  readonly attempts: OutboundMessage[] = [];
  /** Every successful delivery, in order. */
  readonly delivered: OutboundMessage[] = [];

  async answer(message: OutboundMessage): Promise<SendResult> {
    this.attempts.push(message);
    if (this.gate) await this.gate;
    const failing = this.down || (this.failWhen?.test(message.content) ?? false);
    if (!failing) {
      this.delivered.push(message);
      return { status: 'sent', response: `ACK ${message.messageId}` };
    }
    return this.permanent
      ? { status: 'failed', error: 'rejected by peer' }
      : { status: 'retry', error: 'peer unavailable' };
  }
}

interface TestSourceSettings {
  name: string;
  /** start() rejects, as a listener on a port in use would. */
  failStart: boolean;
}

interface TestDestinationSettings {
  peer: string;
  port: number;
}

/** The contexts and behaviours of one test, by the names its definitions use. */
export class TestPeers {
  readonly sources = new Map<string, SourceContext>();
  readonly peers = new Map<string, PeerBehaviour>();

  peer(name: string): PeerBehaviour {
    let peer = this.peers.get(name);
    if (!peer) {
      peer = new PeerBehaviour();
      this.peers.set(name, peer);
    }
    return peer;
  }

  source(name: string): SourceContext {
    const context = this.sources.get(name);
    if (!context) throw new Error(`source '${name}' is not started`);
    return context;
  }

  async receive(sourceName: string, message: InboundMessage) {
    return this.source(sourceName).receive(message);
  }

  sourceType(): SourceConnectorType<TestSourceSettings> {
    return {
      type: 'test-source',
      parseSettings: (input, settingsPath) => {
        const value = expectObject(input, settingsPath);
        expectKeys(value, settingsPath, ['name', 'failStart']);
        return {
          name: expectString(value['name'], join(settingsPath, 'name')),
          failStart: value['failStart'] === true,
        };
      },
      create: (settings, context) => ({
        start: async () => {
          if (settings.failStart) throw new Error('listen EADDRINUSE 127.0.0.1:2575');
          this.sources.set(settings.name, context);
        },
        stop: async () => void this.sources.delete(settings.name),
      }),
    };
  }

  destinationType(): DestinationConnectorType<TestDestinationSettings> {
    return {
      type: 'test-peer',
      parseSettings: (input, settingsPath) => {
        const value = expectObject(input, settingsPath);
        expectKeys(value, settingsPath, ['peer', 'port']);
        // A port setting like a network connector's, so validation paths into settings can be tested.
        const port = value['port'] === undefined ? 0 : expectPort(value['port'], join(settingsPath, 'port'));
        return { peer: expectString(value['peer'], join(settingsPath, 'peer')), port };
      },
      create: (settings) => ({
        send: async (message) => this.peer(settings.peer).answer(message),
        stop: async () => {},
      }),
    };
  }

  registry(): ChannelRegistry {
    const registry = new ChannelRegistry();
    registerBuiltinConnectors(registry);
    registry.addSource(this.sourceType());
    registry.addDestination(this.destinationType());
    return registry;
  }
}

/** Polls until `check` holds; fails the test (by throwing) if it never does. No timing is asserted. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A channel definition for the in-test connectors, as a seed file or the admin UI would give it. */
export function channelJson(
  id: string,
  destinations: Array<Record<string, unknown>>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { id, name: `channel ${id}`, source: { type: 'test-source', settings: { name: id } }, destinations, ...extra };
}

export function peerDestination(
  name: string,
  peer: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    connector: { type: 'test-peer', settings: { peer } },
    retry: { initialDelayMs: 20, maxDelayMs: 100, multiplier: 2 },
    ...extra,
  };
}

export function jsonMessage(body: Record<string, unknown>): InboundMessage {
  return { raw: JSON.stringify(body), dataType: 'json', source: { remoteAddress: '127.0.0.1' } };
}
