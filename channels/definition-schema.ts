// Builds a ChannelDefinition from untrusted JSON (a seed file, the admin UI). Every refusal names the JSON
// path and the reason, e.g. `destinations[0].connector.settings.port: expected a port number from 0 to 65535`.
// Connector settings are checked by the connector type itself, found in the registry.
import vm from 'node:vm';
import {
  ValidationError,
  expectArray,
  expectBoolean,
  expectInteger,
  expectKeys,
  expectNumber,
  expectObject,
  expectOneOf,
  expectString,
  join,
  type Plain,
} from '../runtime/validate.ts';
import type {
  ChannelDefinition,
  ConnectorRef,
  DestinationDefinition,
  FieldMapping,
  Filter,
  FilterOperator,
  FilterRule,
  MapStep,
  ResponseMode,
  RetryPolicy,
} from './definition.ts';
import { defaultResponseTimeoutMs, defaultRetry } from './definition.ts';
import type { ChannelRegistry } from './registry.ts';

const channelKeys = [
  'id',
  'name',
  'enabled',
  'source',
  'filter',
  'map',
  'destinations',
  'retentionDays',
  'response',
] as const;
const destinationKeys = [
  'name',
  'connector',
  'filter',
  'map',
  'queue',
  'concurrency',
  'retry',
  'maxAttempts',
  'onExhausted',
] as const;
const operators: readonly FilterOperator[] = ['eq', 'ne', 'in', 'exists', 'matches'];
const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Channel and destination names travel into admin API paths (`/destinations/:destination/pause`), metric labels,
 * queue keys (joined with NUL) and whatever files an operator or a tool derives from them: a name that is a path
 * (`../../x`), holds a separator or a control character, or is only dots is refused, not cleaned, so what is
 * stored is what the analyst typed.
 */
function expectName(input: unknown, path: string): string {
  const name = expectString(input, path);
  if (/[/\\]/.test(name)) throw new ValidationError(path, 'a name may not hold a path separator (/ or \\)');
  if (/^\.+$/.test(name.trim())) throw new ValidationError(path, 'a name may not be only dots');
  if (hasControlCharacter(name)) throw new ValidationError(path, 'a name may not hold control characters');
  return name;
}

/** C0 controls (U+0000..U+001F) and DEL (U+007F). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x1f || code === 0x7f) return true;
  }
  return false;
}

export function parseChannelDefinition(input: unknown, registry: ChannelRegistry, path = ''): ChannelDefinition {
  const value = expectObject(input, path);
  expectKeys(value, path, channelKeys);
  const id = expectString(value['id'], join(path, 'id'));
  if (!idPattern.test(id))
    throw new ValidationError(
      join(path, 'id'),
      'expected 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
    );
  const definition: ChannelDefinition = {
    id,
    name: expectName(value['name'], join(path, 'name')),
    enabled: value['enabled'] === undefined ? true : expectBoolean(value['enabled'], join(path, 'enabled')),
    source: parseSource(value['source'], registry, join(path, 'source')),
    destinations: parseDestinations(value['destinations'], registry, join(path, 'destinations')),
    retentionDays:
      value['retentionDays'] === undefined
        ? 30
        : expectInteger(value['retentionDays'], join(path, 'retentionDays'), 0, 36_500),
  };
  if (value['filter'] !== undefined) definition.filter = parseFilter(value['filter'], join(path, 'filter'));
  if (value['map'] !== undefined) definition.map = parseMap(value['map'], join(path, 'map'));
  if (value['response'] !== undefined) {
    definition.response = parseResponse(value['response'], definition.destinations, join(path, 'response'));
  }
  return definition;
}

/** `'after-validation'` or `{ afterDestination, timeoutMs? }` naming one of the channel's destinations. */
function parseResponse(input: unknown, destinations: readonly DestinationDefinition[], path: string): ResponseMode {
  if (input === 'after-validation') return input;
  if (typeof input === 'string' || typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError(path, `expected 'after-validation' or { "afterDestination": "<destination name>" }`);
  }
  const value = expectObject(input, path);
  expectKeys(value, path, ['afterDestination', 'timeoutMs']);
  const name = expectString(value['afterDestination'], join(path, 'afterDestination'));
  if (!destinations.some((d) => d.name === name)) {
    const known = destinations.map((d) => d.name).join(', ') || 'none';
    const reason = `no destination named '${name}' in this channel (destinations: ${known})`;
    throw new ValidationError(join(path, 'afterDestination'), reason);
  }
  const timeoutMs = optionalInteger(value, 'timeoutMs', path, defaultResponseTimeoutMs, 1, 600_000);
  return { afterDestination: name, timeoutMs };
}

function parseConnectorShape(input: unknown, path: string): { type: string; settings: unknown } {
  const value = expectObject(input, path);
  expectKeys(value, path, ['type', 'settings']);
  return { type: expectString(value['type'], join(path, 'type')), settings: value['settings'] ?? {} };
}

function parseSource(input: unknown, registry: ChannelRegistry, path: string): ConnectorRef {
  const { type, settings } = parseConnectorShape(input, path);
  const connectorType = registry.source(type);
  if (!connectorType)
    throw new ValidationError(
      join(path, 'type'),
      `unknown source connector type '${type}' (known: ${registry.sourceTypes().join(', ') || 'none'})`,
    );
  return { type, settings: connectorType.parseSettings(settings, join(path, 'settings')) };
}

function parseDestinationConnector(input: unknown, registry: ChannelRegistry, path: string): ConnectorRef {
  const { type, settings } = parseConnectorShape(input, path);
  const connectorType = registry.destination(type);
  if (!connectorType)
    throw new ValidationError(
      join(path, 'type'),
      `unknown destination connector type '${type}' (known: ${registry.destinationTypes().join(', ') || 'none'})`,
    );
  return { type, settings: connectorType.parseSettings(settings, join(path, 'settings')) };
}

function parseDestinations(input: unknown, registry: ChannelRegistry, path: string): DestinationDefinition[] {
  const list = expectArray(input, path);
  const names = new Set<string>();
  return list.map((item, index) => {
    const itemPath = join(path, index);
    const destination = parseDestination(item, registry, itemPath);
    if (names.has(destination.name))
      throw new ValidationError(join(itemPath, 'name'), `duplicate destination name '${destination.name}'`);
    names.add(destination.name);
    return destination;
  });
}

function parseDestination(input: unknown, registry: ChannelRegistry, path: string): DestinationDefinition {
  const value = expectObject(input, path);
  expectKeys(value, path, destinationKeys);
  const destination: DestinationDefinition = {
    name: expectName(value['name'], join(path, 'name')),
    connector: parseDestinationConnector(value['connector'], registry, join(path, 'connector')),
    queue:
      value['queue'] === undefined
        ? 'ordered'
        : expectOneOf(value['queue'], join(path, 'queue'), ['ordered', 'unordered']),
    retry: parseRetry(value['retry'], join(path, 'retry')),
    maxAttempts:
      value['maxAttempts'] === undefined
        ? 0
        : expectInteger(value['maxAttempts'], join(path, 'maxAttempts'), 0, 1_000_000),
    onExhausted:
      value['onExhausted'] === undefined
        ? 'error'
        : expectOneOf(value['onExhausted'], join(path, 'onExhausted'), ['error', 'pause']),
  };
  if (value['concurrency'] !== undefined) {
    const at = join(path, 'concurrency');
    destination.concurrency = expectInteger(value['concurrency'], at, 1, 64);
    // One in flight is what keeps an ordered queue in order (a failing head blocks the rest).
    if (destination.queue === 'ordered' && destination.concurrency > 1)
      throw new ValidationError(at, 'an ordered queue delivers one message at a time; use queue "unordered"');
  }
  if (value['filter'] !== undefined) destination.filter = parseFilter(value['filter'], join(path, 'filter'));
  if (value['map'] !== undefined) destination.map = parseMap(value['map'], join(path, 'map'));
  return destination;
}

function parseRetry(input: unknown, path: string): RetryPolicy {
  if (input === undefined) return { ...defaultRetry };
  const value = expectObject(input, path);
  expectKeys(value, path, ['initialDelayMs', 'maxDelayMs', 'multiplier']);
  const initialDelayMs = optionalInteger(value, 'initialDelayMs', path, defaultRetry.initialDelayMs, 0, 86_400_000);
  const maxDelayMs = optionalInteger(
    value,
    'maxDelayMs',
    path,
    Math.max(defaultRetry.maxDelayMs, initialDelayMs),
    0,
    86_400_000,
  );
  if (maxDelayMs < initialDelayMs)
    throw new ValidationError(join(path, 'maxDelayMs'), `expected at least initialDelayMs (${initialDelayMs})`);
  const multiplier =
    value['multiplier'] === undefined
      ? defaultRetry.multiplier
      : expectNumber(value['multiplier'], join(path, 'multiplier'), 1, 100);
  return { initialDelayMs, maxDelayMs, multiplier };
}

function optionalInteger(value: Plain, key: string, path: string, fallback: number, min: number, max: number): number {
  return value[key] === undefined ? fallback : expectInteger(value[key], join(path, key), min, max);
}

export function parseFilter(input: unknown, path: string): Filter {
  const value = expectObject(input, path);
  if ('and' in value || 'or' in value) {
    const key = 'and' in value ? 'and' : 'or';
    expectKeys(value, path, [key]);
    const list = expectArray(value[key], join(path, key));
    if (list.length === 0) throw new ValidationError(join(path, key), 'expected at least one filter');
    const parts = list.map((item, index) => parseFilter(item, join(join(path, key), index)));
    return key === 'and' ? { and: parts } : { or: parts };
  }
  return parseRule(value, path);
}

function parseRule(value: Plain, path: string): FilterRule {
  expectKeys(value, path, ['path', 'operator', 'value']);
  const rulePath = typeof value['path'] === 'string' ? value['path'] : expectString(value['path'], join(path, 'path'));
  const operator = expectOneOf(value['operator'], join(path, 'operator'), operators);
  const valuePath = join(path, 'value');
  switch (operator) {
    case 'exists':
      return {
        path: rulePath,
        operator,
        value: value['value'] === undefined ? true : expectBoolean(value['value'], valuePath),
      };
    case 'in': {
      const options = expectArray(value['value'], valuePath).map((v, i) => expectText(v, join(valuePath, i)));
      return { path: rulePath, operator, value: options };
    }
    case 'matches': {
      const pattern = expectString(value['value'], valuePath);
      try {
        new RegExp(pattern);
      } catch (error) {
        throw new ValidationError(valuePath, `not a valid regular expression (${(error as Error).message})`);
      }
      return { path: rulePath, operator, value: pattern };
    }
    default:
      return { path: rulePath, operator, value: expectText(value['value'], valuePath) };
  }
}

/** A compared value may be empty ("PV1-2 ne ''"), unlike names and ids. */
function expectText(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ValidationError(path, 'expected a string');
  return value;
}

export function parseMap(input: unknown, path: string): MapStep {
  const value = expectObject(input, path);
  expectKeys(value, path, ['mappings', 'script', 'scriptTimeoutMs']);
  const step: MapStep = {};
  if (value['mappings'] !== undefined) {
    const mappingsPath = join(path, 'mappings');
    step.mappings = expectArray(value['mappings'], mappingsPath).map((m, i) => parseMapping(m, join(mappingsPath, i)));
  }
  if (value['script'] !== undefined) step.script = parseScript(value['script'], join(path, 'script'));
  if (value['scriptTimeoutMs'] !== undefined)
    step.scriptTimeoutMs = expectInteger(value['scriptTimeoutMs'], join(path, 'scriptTimeoutMs'), 1, 60_000);
  return step;
}

function parseMapping(input: unknown, path: string): FieldMapping {
  const value = expectObject(input, path);
  expectKeys(value, path, ['target', 'from', 'value']);
  const target = expectText(value['target'], join(path, 'target'));
  const hasFrom = value['from'] !== undefined;
  const hasValue = value['value'] !== undefined;
  if (hasFrom === hasValue) throw new ValidationError(path, "expected exactly one of 'from' or 'value'");
  if (hasFrom) return { target, from: expectText(value['from'], join(path, 'from')) };
  return { target, value: expectText(value['value'], join(path, 'value')) };
}

function parseScript(input: unknown, path: string): string {
  const script = expectString(input, path);
  try {
    // Compiling parses the body without running it, so a syntax error is refused at save time.
    vm.compileFunction(script, ['msg']);
  } catch (error) {
    throw new ValidationError(path, `not valid JavaScript (${(error as Error).message})`);
  }
  return script;
}
