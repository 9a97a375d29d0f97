// Channel definitions the process-level tests deploy: orders in over MLLP, out to an MLLP peer.
export function mllpRelayChannel(id: string, inPort: number, outPort: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    name: `relay ${id}`,
    enabled: true,
    source: { type: 'mllp', settings: { host: '127.0.0.1', port: inPort } },
    destinations: [
      {
        name: 'ehr',
        connector: {
          type: 'mllp',
          settings: { host: '127.0.0.1', port: outPort, ackTimeoutMs: 2000, connectTimeoutMs: 1000 },
        },
        queue: 'ordered',
        retry: { initialDelayMs: 100, maxDelayMs: 500, multiplier: 2 },
        maxAttempts: 0,
      },
    ],
    ...extra,
  };
}

/** The fixture ORM with its control id (MSH-10) replaced, so each message of a run is told apart. */
export function withControlId(orm: Buffer, controlId: string): Buffer {
  return Buffer.from(orm.toString('latin1').replace('|MSG00001|', `|${controlId}|`), 'latin1');
}

export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
