// Exam numbers: `RSO-2026-000123`. Readable over the phone, stable (the number is the exam's id for life) and
// unique across every hub process on one store: the sequence is one counter document per year, advanced with
// an atomic findOneAndUpdate $inc. A number taken by a create that then fails is simply skipped; numbers are
// never handed out twice, so a number on a report or a DICOM PatientID can never point at another exam.
//
// Each process reserves a block of numbers per $inc (blockSize, default 10) and hands them out locally: every
// embedded-store write is a synced commit, and one counter write per exam halved the create rate. The price:
// numbers of two processes interleave, and a process that stops leaves the rest of its block unused (gaps,
// never duplicates). blockSize 1 gives gap-free numbers.
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
  #refill: Promise<Block> | undefined;

  constructor(db: HubDb, options: ExamNumbersOptions = {}) {
    this.#db = db;
    this.#prefix = options.prefix ?? 'exam-number';
    this.#blockSize = options.blockSize ?? 10;
  }

  async next(now: Date = new Date()): Promise<string> {
    const year = now.getUTCFullYear();
    for (;;) {
      const block = this.#block;
      if (block && block.year === year && block.next <= block.last) return formatExamNumber(year, block.next++);
      // One refill at a time: concurrent callers wait for it instead of each reserving a block.
      this.#refill ??= this.#reserve(year).finally(() => (this.#refill = undefined));
      this.#block = await this.#refill;
    }
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
        const doc = await counters.findOneAndUpdate({ _id: id }, { $inc: { seq: by } }, { upsert: true, returnDocument: 'after' });
        if (!doc) throw new Error(`counter ${id}: the store returned no document after an upsert`);
        return doc.seq;
      } catch (error) {
        if (!isDuplicateKeyError(error) || attempt >= 3) throw error;
      }
    }
  }
}
