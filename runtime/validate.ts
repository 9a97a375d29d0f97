// Checks for untrusted structured input (config files, channel definitions, connector settings).
// Every failure names the path and the reason, e.g. `channels[2].destinations[0].port: expected a port number`,
// because the person reading it has to find the spot in a file or a form.
export class ValidationError extends Error {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(path ? `${path}: ${reason}` : reason);
    this.name = 'ValidationError';
    this.path = path;
    this.reason = reason;
  }
}

export type Plain = Record<string, unknown>;

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function expectObject(value: unknown, path: string): Plain {
  if (!isPlain(value)) throw new ValidationError(path, 'expected an object');
  return value;
}

/** Refuses keys the schema does not know: a typo in a config key must not be silently ignored. */
export function expectKeys(value: Plain, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw new ValidationError(join(path, key), `unknown key (expected one of: ${allowed.join(', ')})`);
  }
}

export function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(path, 'expected a non-empty string');
  return value;
}

export function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : expectString(value, path);
}

export function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(path, 'expected true or false');
  return value;
}

export function expectNumber(value: unknown, path: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError(path, 'expected a number');
  if (value < min || value > max) throw new ValidationError(path, `expected a number from ${min} to ${max}`);
  return value;
}

export function expectInteger(value: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ValidationError(path, 'expected a whole number');
  if (value < min || value > max) throw new ValidationError(path, `expected a whole number from ${min} to ${max}`);
  return value;
}

export function expectPort(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ValidationError(path, 'expected a port number from 0 to 65535');
  }
  return value;
}

export function expectOneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
    throw new ValidationError(path, `expected one of: ${options.join(', ')}`);
  }
  return value as T;
}

export function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError(path, 'expected a list');
  return value;
}
