// A small Prometheus registry: counters and gauges with labels, rendered in the text exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/). One process-wide registry, because a
// scrape wants everything the process knows.
type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  series: Map<string, Series>;
  collect?: () => Array<{ labels: Labels; value: number }>;
}

const families = new Map<string, Family>();

function family(name: string, help: string, type: Family['type']): Family {
  const existing = families.get(name);
  if (existing) return existing;
  const created: Family = { name, help, type, series: new Map() };
  families.set(name, created);
  return created;
}

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function seriesOf(f: Family, labels: Labels): Series {
  const k = key(labels);
  let s = f.series.get(k);
  if (!s) {
    s = { labels, value: 0 };
    f.series.set(k, s);
  }
  return s;
}

export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

export interface Gauge {
  set(labels: Labels, value: number): void;
}

export function counter(name: string, help: string): Counter {
  const f = family(name, help, 'counter');
  return {
    inc: (labels = {}, by = 1) => {
      seriesOf(f, labels).value += by;
    },
  };
}

export function gauge(name: string, help: string): Gauge {
  const f = family(name, help, 'gauge');
  return {
    set: (labels, value) => {
      seriesOf(f, labels).value = value;
    },
  };
}

/** A gauge read at scrape time, e.g. queue depth or memory. */
export function collectedGauge(
  name: string,
  help: string,
  collect: () => Array<{ labels: Labels; value: number }>,
): void {
  family(name, help, 'gauge').collect = collect;
}

/** A counter read at scrape time from a running total kept elsewhere (the event loop's active time). */
export function collectedCounter(
  name: string,
  help: string,
  collect: () => Array<{ labels: Labels; value: number }>,
): void {
  family(name, help, 'counter').collect = collect;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function sample(name: string, labels: Labels, value: number): string {
  const entries = Object.entries(labels);
  const text = entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
  return `${name}${text} ${Number.isFinite(value) ? value : 0}`;
}

export function renderMetrics(): string {
  const lines: string[] = [];
  for (const f of families.values()) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    const all = f.collect ? f.collect() : [...f.series.values()];
    for (const s of all) lines.push(sample(f.name, s.labels, s.value));
  }
  return `${lines.join('\n')}\n`;
}

/** Shared by every listener (MLLP, DICOM, HTTP), told apart by its `listener` label. */
export const listenerLimitHits = counter(
  'hub_listener_limit_hits_total',
  'Connections closed or refused by a listener limit, by listener and limit',
);
