// A small file that the first process of an installation creates and every later one reads (the instance id, a
// generated admin token or password). Several hub processes start together (hub.workers), so "read, else
// write" races: the loser of an exclusive create could read the winner's file before its content is written.
// The content is therefore written to a private temporary file first and linked into place (link(2) fails if
// the name exists), so the file is seen whole or not at all, and every process ends up with the same value.
import { randomUUID } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';

export async function readOrCreate(file: string, make: () => string, mode = 0o600): Promise<string> {
  const existing = await readIfThere(file);
  if (existing !== undefined) return existing;
  const temporary = `${file}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${make()}\n`, { mode, flag: 'wx' });
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary);
  }
  const value = await readIfThere(file);
  if (value === undefined) throw new Error(`${file} is empty`);
  return value;
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
