// Temporary links for a consultant (issue 15 item 5): a facility user or a radiologist lets someone without an
// account read one exam's report and study list for 1 to 720 hours. The link carries a random 256-bit token; the
// store keeps only its SHA-256 (as sessions do, admin-ui/sessions.ts), so neither the store nor its backups
// hold a usable link. A link ends at its expiry or when revoked, and then answers "gone", never the exam.
import { hash, randomBytes, randomUUID } from 'node:crypto';
import type { HubCollection, HubDb } from '../store/db.ts';
import { ExamError, InvalidInputError } from './errors.ts';
import type { Exam } from './exam.ts';

export const minLinkHours = 1;
export const maxLinkHours = 720;

export interface ConsultantLink {
  /** Public id, for listing and revoking; says nothing about the token. */
  _id: string;
  /** Hex SHA-256 of the token in the link. */
  tokenSha256: string;
  examNumber: string;
  facility: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  revokedBy?: string;
  uses: number;
  lastUsedAt?: string;
}

/** What a link is for the page it opens. */
export type LinkLookup =
  | { status: 'open'; link: ConsultantLink }
  | { status: 'revoked' | 'expired'; link: ConsultantLink }
  | { status: 'unknown' };

export class LinkRefusedError extends ExamError {
  constructor(id: string, reason: string) {
    super('transition-refused', 'link', `consultant link ${id}: ${reason}`);
    this.name = 'LinkRefusedError';
  }
}

function digest(token: string): string {
  return hash('sha256', token, 'hex');
}

export class ConsultantLinks {
  readonly #collection: HubCollection<ConsultantLink>;
  readonly #now: () => number;

  constructor(db: HubDb, now: () => number = Date.now) {
    this.#collection = db.collection<ConsultantLink>('consultant_links');
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#collection.createIndex({ tokenSha256: 1 }, { unique: true });
    await this.#collection.createIndex({ examNumber: 1, createdAt: -1 });
  }

  /** A new link; the token is returned once and never stored. */
  async create(
    exam: Pick<Exam, 'examNumber' | 'facility'>,
    hours: unknown,
    by: string,
  ): Promise<{ link: ConsultantLink; token: string }> {
    if (typeof hours !== 'number' || !Number.isInteger(hours) || hours < minLinkHours || hours > maxLinkHours)
      throw new InvalidInputError('hours', `expected a whole number of hours from ${minLinkHours} to ${maxLinkHours}`);
    const token = randomBytes(32).toString('base64url');
    const now = this.#now();
    const link: ConsultantLink = {
      _id: randomUUID(),
      tokenSha256: digest(token),
      examNumber: exam.examNumber,
      facility: exam.facility,
      createdBy: by,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + hours * 3_600_000).toISOString(),
      uses: 0,
    };
    await this.#collection.insertOne(link);
    return { link, token };
  }

  get(id: string): Promise<ConsultantLink | null> {
    return this.#collection.findOne({ _id: id });
  }

  ofExam(examNumber: string): Promise<ConsultantLink[]> {
    return this.#collection.find({ examNumber }).sort({ createdAt: -1, _id: 1 }).limit(100).toArray();
  }

  /** The link a token opens, and whether it still opens; an open link counts the use. */
  async open(token: string): Promise<LinkLookup> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return { status: 'unknown' };
    const link = await this.#collection.findOne({ tokenSha256: digest(token) });
    if (!link) return { status: 'unknown' };
    if (link.revokedAt !== undefined) return { status: 'revoked', link };
    const now = this.#now();
    if (Date.parse(link.expiresAt) <= now) return { status: 'expired', link };
    const at = new Date(now).toISOString();
    await this.#collection.updateOne({ _id: link._id }, { $inc: { uses: 1 }, $set: { lastUsedAt: at } });
    return { status: 'open', link: { ...link, uses: link.uses + 1, lastUsedAt: at } };
  }

  /** Ends the link now; revoking it twice is refused with the reason. */
  async revoke(id: string, by: string): Promise<ConsultantLink> {
    const at = new Date(this.#now()).toISOString();
    const revoked = await this.#collection.findOneAndUpdate(
      { _id: id, revokedAt: { $exists: false } },
      { $set: { revokedAt: at, revokedBy: by } },
      { returnDocument: 'after' },
    );
    if (revoked) return revoked;
    throw new LinkRefusedError(id, (await this.get(id)) ? 'it was already revoked' : 'no such link');
  }
}
