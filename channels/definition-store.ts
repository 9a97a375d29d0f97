// Channel definitions in the store, versioned: every save is a new revision and all revisions are kept; the
// channel's active revision is what the engine runs. A definition is kept as the JSON text it was saved as
// (settings may hold keys such as '$ref' or dotted names that a document store refuses as field names) and
// is parsed again on load, so a connector type's checks apply to stored definitions too.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HubCollection, HubDb } from '../store/db.ts';
import { isDuplicateKeyError } from '../store/db.ts';
import { ValidationError } from '../runtime/validate.ts';
import type { ChannelDefinition } from './definition.ts';
import { parseChannelDefinition } from './definition-schema.ts';
import type { ChannelRegistry } from './registry.ts';

export interface RevisionDoc {
  channelId: string;
  revision: number;
  json: string;
  savedAt: Date;
  /** Who saved it: 'file:<name>' for seeds, a user name for the admin UI. */
  author: string;
}

export interface ChannelDoc {
  _id: string;
  activeRevision: number;
  updatedAt: Date;
}

export interface StoredDefinition {
  revision: number;
  definition: ChannelDefinition;
  savedAt: Date;
  author: string;
}

export interface SeedResult {
  file: string;
  channelId: string;
  outcome: 'saved' | 'unchanged';
  revision: number;
}

/** A seed file's mistake, with the file name in front of the JSON path. */
export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

export class DefinitionStore {
  readonly #revisions: HubCollection<RevisionDoc>;
  readonly #channels: HubCollection<ChannelDoc>;
  readonly #registry: ChannelRegistry;

  constructor(db: HubDb, registry: ChannelRegistry) {
    this.#revisions = db.collection<RevisionDoc>('channel_revisions');
    this.#channels = db.collection<ChannelDoc>('channels');
    this.#registry = registry;
  }

  async open(): Promise<void> {
    await this.#revisions.createIndex({ channelId: 1, revision: 1 }, { unique: true });
  }

  /** Validates and saves a new revision, which becomes the active one. Throws ValidationError, saving nothing. */
  async save(input: unknown, author = 'unknown'): Promise<StoredDefinition> {
    const definition = parseChannelDefinition(input, this.#registry);
    const json = canonicalJson(input);
    for (;;) {
      const revision = (await this.#latestRevision(definition.id)) + 1;
      const savedAt = new Date();
      try {
        await this.#revisions.insertOne({ channelId: definition.id, revision, json, savedAt, author });
      } catch (error) {
        // Another process saved the same channel at the same moment: take the next number.
        if (isDuplicateKeyError(error)) continue;
        throw error;
      }
      await this.#setActive(definition.id, revision);
      return { revision, definition, savedAt, author };
    }
  }

  /** Makes an earlier revision the running one again (rollback); it must still be valid. */
  async activate(channelId: string, revision: number): Promise<StoredDefinition> {
    const doc = await this.#revisions.findOne({ channelId, revision });
    if (!doc) throw new ValidationError('revision', `channel '${channelId}' has no revision ${revision}`);
    const stored = this.#parse(doc);
    await this.#setActive(channelId, revision);
    return stored;
  }

  async active(channelId: string): Promise<StoredDefinition | null> {
    const channel = await this.#channels.findOne({ _id: channelId });
    if (!channel) return null;
    const doc = await this.#revisions.findOne({ channelId, revision: channel.activeRevision });
    return doc ? this.#parse(doc) : null;
  }

  /** One saved revision, active or not; null when the channel never had it. */
  async revision(channelId: string, revision: number): Promise<StoredDefinition | null> {
    const doc = await this.#revisions.findOne({ channelId, revision });
    return doc ? this.#parse(doc) : null;
  }

  /** Forgets a channel and all its revisions; the engine refuses this for a deployed channel. */
  async remove(channelId: string): Promise<boolean> {
    const removed = await this.#channels.deleteOne({ _id: channelId });
    await this.#revisions.deleteMany({ channelId });
    return removed.deletedCount === 1;
  }

  /** Checks a definition as save() does, saving nothing: for a dry run of unsaved edits. */
  parse(input: unknown): ChannelDefinition {
    return parseChannelDefinition(input, this.#registry);
  }

  async channelIds(): Promise<string[]> {
    const channels = await this.#channels.find({}).sort({ _id: 1 }).toArray();
    return channels.map((c) => c._id);
  }

  async revisions(channelId: string): Promise<Array<{ revision: number; savedAt: Date; author: string }>> {
    const docs = await this.#revisions.find({ channelId }).sort({ revision: 1 }).toArray();
    return docs.map((d) => ({ revision: d.revision, savedAt: d.savedAt, author: d.author }));
  }

  /** Seeds from `<dir>/*.json`; a file equal to the channel's active revision adds no revision. */
  async seedFromDirectory(directory: string): Promise<SeedResult[]> {
    const names = (await readdir(directory).catch(missingIsEmpty)).filter((n) => n.endsWith('.json')).sort();
    const results: SeedResult[] = [];
    for (const name of names) results.push(await this.#seedFile(path.join(directory, name), name));
    return results;
  }

  async #seedFile(file: string, name: string): Promise<SeedResult> {
    let input: unknown;
    try {
      input = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new SeedError(`${file}: not valid JSON (${(error as Error).message})`);
    }
    let definition: ChannelDefinition;
    try {
      definition = parseChannelDefinition(input, this.#registry);
    } catch (error) {
      if (error instanceof ValidationError) throw new SeedError(`${file}: ${error.message}`);
      throw error;
    }
    const active = await this.#activeDoc(definition.id);
    if (active && active.json === canonicalJson(input)) {
      return { file: name, channelId: definition.id, outcome: 'unchanged', revision: active.revision };
    }
    const saved = await this.save(input, `file:${name}`);
    return { file: name, channelId: definition.id, outcome: 'saved', revision: saved.revision };
  }

  async #activeDoc(channelId: string): Promise<RevisionDoc | null> {
    const channel = await this.#channels.findOne({ _id: channelId });
    if (!channel) return null;
    return this.#revisions.findOne({ channelId, revision: channel.activeRevision });
  }

  async #latestRevision(channelId: string): Promise<number> {
    const [latest] = await this.#revisions.find({ channelId }).sort({ revision: -1 }).limit(1).toArray();
    return latest?.revision ?? 0;
  }

  async #setActive(channelId: string, revision: number): Promise<void> {
    await this.#channels.updateOne(
      { _id: channelId },
      { $set: { activeRevision: revision, updatedAt: new Date() } },
      { upsert: true },
    );
  }

  #parse(doc: RevisionDoc): StoredDefinition {
    const definition = parseChannelDefinition(JSON.parse(doc.json), this.#registry);
    return { revision: doc.revision, definition, savedAt: doc.savedAt, author: doc.author };
  }
}

function missingIsEmpty(error: unknown): string[] {
  if ((error as { code?: unknown }).code === 'ENOENT') return [];
  throw error;
}

/** Key order and whitespace do not make a new revision. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}
