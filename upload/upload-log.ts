// One record per finished upload (SFTP or FTPS close, or a file drop): who sent which file for which facility and
// what became of it, so an analyst can answer a technician's "did my study arrive?" (GET /api/uploads). File
// names may name patients, so they live here in the store and in debug logs only.
import type { HubCollection, HubDb } from '../store/db.ts';

export type UploadOutcome = 'stored' | 'partly-stored' | 'refused';

export interface UploadRecord {
  _id: string;
  at: Date;
  user: string;
  facility: string;
  protocol: string;
  remote: string;
  fileName: string;
  sizeBytes: number;
  kind: 'dicom' | 'zip' | 'other';
  outcome: UploadOutcome;
  /** Instances stored, and the files (or ZIP entries) refused. */
  stored: number;
  refused: number;
  studyInstanceUids: string[];
  /** Why something was refused, as the client was told. */
  reason?: string;
  /** Where the refused file was kept (in the error folder). */
  errorFile?: string;
}

export interface UploadQuery {
  user?: string;
  facility?: string;
  outcome?: UploadOutcome;
  /** Only these facilities' uploads (a user limited to some facilities). */
  facilities?: readonly string[];
  limit: number;
}

export class UploadLog {
  readonly #collection: HubCollection<UploadRecord>;

  constructor(db: HubDb) {
    this.#collection = db.collection<UploadRecord>('uploads');
  }

  async open(): Promise<void> {
    await this.#collection.createIndex({ at: -1 });
    await this.#collection.createIndex({ user: 1, at: -1 });
    await this.#collection.createIndex({ facility: 1, at: -1 });
  }

  async record(entry: UploadRecord): Promise<void> {
    await this.#collection.insertOne(entry);
  }

  async recent(query: UploadQuery): Promise<UploadRecord[]> {
    const filter: Partial<Pick<UploadRecord, 'user' | 'outcome'>> & { facility?: string | { $in: string[] } } = {};
    if (query.user !== undefined) filter.user = query.user;
    if (query.facilities !== undefined) filter.facility = { $in: [...query.facilities] };
    if (query.facility !== undefined) filter.facility = query.facility;
    if (query.outcome !== undefined) filter.outcome = query.outcome;
    return this.#collection.find(filter).sort({ at: -1 }).limit(query.limit).toArray();
  }
}
