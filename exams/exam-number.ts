// Exam numbers: `RSO-2026-000123`. Readable over the phone, stable (the number is the exam's id for life) and
// unique across every hub process on one store: the sequence is one counter document per year, advanced with
// an atomic findOneAndUpdate $inc. A number taken by a create that then fails is simply skipped; numbers are
// never handed out twice, so a number on a report or a DICOM PatientID can never point at another exam.
//
// Each process reserves a block of numbers per $inc (blockSize, default 10) and hands them out locally: every
// embedded-store write is a synced commit, and one counter write per exam halved the create rate. The price:
// numbers of two processes interleave, and a process that stops leaves the rest of its block (and the block it
// reserved ahead, see next()) unused: gaps, never duplicates. blockSize 1 gives gap-free numbers.
import { isDuplicateKeyError, type HubDb } from '../store/db.ts';

export interface CounterDoc {
  _id: string;
  seq: number;
}

export const examNumberPattern = /^RSO-\d{4}-\d{6,}$/;

export function formatExamNumber(year: number, seq: number): string {
  return `RSO-${year}-${String(seq).padStart(6, '0')}`;
}

export interface ExamNumbersOptions {
  /** Separates independent sequences in one store (tests); the hub uses the default. */
  prefix?: string;
  blockSize?: number;
}

interface Block {
  year: number;
  next: number;
  last: number;
}

export class ExamNumbers {
  readonly #db: HubDb;
  readonly #prefix: string;
  readonly #blockSize: number;
  #block: Block | undefined;
  /** The block after #block, reserved (or being reserved) ahead of need; see next(). */
  #upcoming: Promise<Block> | undefined;

  constructor(db: HubDb, options: ExamNumbersOptions = {}) {
    this.#db = db;
    this.#prefix = options.prefix ?? 'exam-number';
    this.#blockSize = options.blockSize ?? 10;
  }

  /**
   * Once half a block is used, the next one is reserved in the background: a reservation is a synced commit,
   * and every create arriving meanwhile waited for it (under 16 concurrent FHIR creates, that stall came once
   * per block). The price: a process that stops leaves up to one more block unused. Blocks of one (gap-free)
   * are never reserved ahead.
   */
  async next(now: Date = new Date()): Promise<string> {
    const year = now.getUTCFullYear();
    for (;;) {
      const block = this.#block;
      if (block && block.year === year && block.next <= block.last) {
        const seq = block.next++;
        if (this.#blockSize > 1 && block.last - seq < this.#blockSize / 2) this.#reserveAhead(year);
        return formatExamNumber(year, seq);
      }
      // One reservation at a time: concurrent callers wait for the same one instead of each reserving a block.
      const upcoming = this.#reserveAhead(year);
      let reserved: Block;
      try {
        reserved = await upcoming;
      } finally {
        if (this.#upcoming === upcoming) this.#upcoming = undefined;
      }
      // The first caller to wake installs the block; the others then take numbers from it.
      if (this.#block === block) this.#block = reserved;
    }
  }

  #reserveAhead(year: number): Promise<Block> {
    if (this.#upcoming === undefined) {
      const upcoming = this.#reserve(year);
      // A failed reservation ahead fails the callers that await it; unawaited, it must not crash the process.
      upcoming.catch(() => {
        if (this.#upcoming === upcoming) this.#upcoming = undefined;
      });
      this.#upcoming = upcoming;
    }
    return this.#upcoming;
  }

  async #reserve(year: number): Promise<Block> {
    const last = await this.#increment(`${this.#prefix}:${year}`, this.#blockSize);
    return { year, next: last - this.#blockSize + 1, last };
  }

  async #increment(id: string, by: number): Promise<number> {
    const counters = this.#db.collection<CounterDoc>('counters');
    // Two processes upserting a missing counter at once: one insert wins, the other gets a duplicate key
    // error (MongoDB documents this for upserts on a unique _id) and simply increments the winner's document.
    for (let attempt = 0; ; attempt++) {
      try {
        const doc = await counters.findOneAndUpdate(
          { _id: id },
          { $inc: { seq: by } },
          { upsert: true, returnDocument: 'after' },
        );
        if (!doc) throw new Error(`counter ${id}: the store returned no document after an upsert`);
        return doc.seq;
      } catch (error) {
        if (!isDuplicateKeyError(error) || attempt >= 3) throw error;
      }
    }
  }
}
