// "Test a channel" in the console: a sample message through a definition's filter and map (channel, then each
// destination) exactly as the pipeline would evaluate it (evaluate.ts), with nothing stored, queued or sent and no
// destination check run (those may query the domain). The definition may be unsaved edits.
import type { ChannelDefinition } from './definition.ts';
import { ChannelEvaluator } from './evaluate.ts';
import type { ChannelRegistry } from './registry.ts';

export interface DryRunDestination {
  name: string;
  filtered: boolean;
  output: string | null;
  error: string | null;
}

export interface DryRunResult {
  /** The channel's filter dropped the message. */
  filtered: boolean;
  /** The message after the channel's map; null when filtered or failed. */
  output: string | null;
  error: string | null;
  destinations: DryRunDestination[];
}

/** HL7 v2 starts with its MSH segment, JSON with a bracket; anything else is taken as raw text. */
export function sniffDataType(raw: string, registry: ChannelRegistry): string {
  const text = raw.trimStart();
  if (/^MSH/.test(text) && registry.dataType('hl7v2')) return 'hl7v2';
  if (/^[{[]/.test(text) && registry.dataType('json')) return 'json';
  return 'raw';
}

export function dryRun(
  definition: ChannelDefinition,
  registry: ChannelRegistry,
  sample: { raw: string; dataType: string },
): DryRunResult {
  const outcome = new ChannelEvaluator(definition, registry).evaluate({ ...sample, source: {} });
  if (outcome.state === 'filtered') return { filtered: true, output: null, error: null, destinations: [] };
  if (outcome.state === 'error') return { filtered: false, output: null, error: outcome.error, destinations: [] };
  const destinations = definition.destinations.map((d, i): DryRunDestination => {
    const delivery = outcome.deliveries[i];
    return {
      name: d.name,
      filtered: delivery?.state === 'filtered',
      output: delivery?.content ?? null,
      error: delivery?.lastError ?? null,
    };
  });
  return { filtered: false, output: outcome.mapped, error: null, destinations };
}
