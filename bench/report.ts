// Each benchmark owns one section of BENCHMARKS.md, between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`,
// so a run of one benchmark rewrites its own figures and leaves the others as they were measured.
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const file = path.join(import.meta.dirname, '..', 'BENCHMARKS.md');

const header = `# Benchmarks

Every figure here comes from \`npm run bench\` (or the single command its section names), measured beside a
reference doing the same work in the same run, on one machine. Ratios are what to compare; absolute numbers
move with the machine.
`;

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

export async function writeSection(name: string, markdown: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    text = header;
  }
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const block = `${open}\n${markdown.trim()}\n${close}`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + block + text.slice(end + close.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(file, next);
}

/** The fields after the name in a /proc stat file (the name may hold spaces and parentheses). */
async function statFields(file: string): Promise<{ name: string; fields: string[] }> {
  const text = await readFile(file, 'utf8');
  return {
    name: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
    fields: text.slice(text.lastIndexOf(') ') + 2).split(' '),
  };
}

/** Linux counts CPU time in 100 ticks a second. */
const ticksToMs = (ticks: number): number => (ticks * 1000) / 100;

/**
 * A process's CPU time so far (all its threads, user + system) in ms, or one thread's with `thread`, and its
 * name: fields 2, 14 and 15 of /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat).
 */
export async function procCpu(pid: number, thread?: number | string): Promise<{ name: string; cpuMs: number }> {
  const { name, fields } = await statFields(
    thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
  );
  return { name, cpuMs: ticksToMs(Number(fields[11]) + Number(fields[12])) };
}

/**
 * The machine's busy and total CPU time so far, all cores, in clock ticks, from the first line of /proc/stat:
 * busy is user, nice, system, irq and softirq; total adds idle, iowait and steal (time the hypervisor gave
 * another guest, which is no work of this machine's). guest and guest_nice are already counted within user.
 */
export async function machineTicks(): Promise<{ busy: number; total: number }> {
  const [, ...ticks] = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks.map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq!;
  return { busy, total: busy + idle! + iowait! + (steal ?? 0) };
}

/** The machine's busy CPU between two machineTicks() readings, in ms. */
export function busyMs(before: { busy: number }, after: { busy: number }): number {
  return ticksToMs(after.busy - before.busy);
}

/**
 * CPU time, in ms, of this process's children that have ended and been waited for (user + system): fields 16
 * and 17 of /proc/self/stat. A child's CPU is counted once Node has reaped it, i.e. by its 'exit' event.
 */
export async function endedChildrenCpuMs(): Promise<number> {
  const { fields } = await statFields('/proc/self/stat');
  return ticksToMs(Number(fields[13]) + Number(fields[14]));
}

/** A process and, depth first, the processes it started that are still running. */
export async function processTree(pid: number): Promise<number[]> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const tree = [pid];
  for (const child of children.trim().split(/\s+/).filter(Boolean)) tree.push(...(await processTree(Number(child))));
  return tree;
}

/** Nearest-rank percentile of a sorted copy; p in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

/** `count` sequential runs after `warmUp` untimed ones; each run's milliseconds, in order. */
export async function timedRuns(run: () => Promise<unknown>, count: number, warmUp = 5): Promise<number[]> {
  for (let i = 0; i < warmUp; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times;
}
