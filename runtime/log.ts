// Structured logs, one JSON object per line on stdout. Patient data (names, ids, message content) may only be
// passed in `phi`, which is written at debug level alone: the levels above it are what operators ship to
// log collectors, and those must not hold PHI.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields, phi?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LogSink {
  write(line: string): void;
}

let threshold: LogLevel = (process.env['LOG_LEVEL'] as LogLevel | undefined) ?? 'info';
let sink: LogSink = { write: (line) => process.stdout.write(line) };

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Tests capture what a component logs to check that no PHI leaks above debug. */
export function setLogSink(next: LogSink): void {
  sink = next;
}

export function createLogger(bound: LogFields = {}): Logger {
  const emit = (level: LogLevel, msg: string, fields?: LogFields, phi?: LogFields): void => {
    if (rank[level] < rank[threshold]) return;
    const line = {
      time: new Date().toISOString(),
      level,
      msg,
      ...bound,
      ...fields,
      ...(level === 'debug' ? phi : undefined),
    };
    sink.write(`${JSON.stringify(line)}\n`);
  };
  return {
    debug: (msg, fields, phi) => emit('debug', msg, fields, phi),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger({ ...bound, ...fields }),
  };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
