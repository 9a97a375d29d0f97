// The console's message browser: the message store's search, a page at a time by cursor (never by offset: an
// offset rereads every skipped message, and shifts when new ones arrive), newest first. The cursor is the
// (receivedAt, _id) of a page's last message; the next page is read in two index-friendly steps: the rest of that
// millisecond by _id, then everything older. Free text matches an index field exactly or the raw content as a
// case-insensitive substring; the latter reads messages, so combine it with a channel or a time range.
import type { Filter } from '../store/db.ts';
import { ValidationError } from '../runtime/validate.ts';
import {
  searchFilter,
  type MessageDoc,
  type MessageQuery,
  type MessageStore,
  type MessageSummary,
} from './message-store.ts';

export interface MessageSearch extends Omit<MessageQuery, 'skip' | 'limit'> {
  text?: string;
  /** Only messages sent by one of these (MSH-4.1 values): a user limited to some facilities. */
  sendingFacilities?: readonly string[];
  limit: number;
  cursor?: string;
}

export interface MessagePage {
  items: MessageSummary[];
  next: string | null;
}

interface Position {
  at: Date;
  id: string;
}

export function encodeCursor(message: { receivedAt: Date; _id: string }): string {
  return Buffer.from(`${message.receivedAt.toISOString()}|${message._id}`).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const date = new Date(at ?? '');
  if (!id || !/^[0-9a-f]{24}$/.test(id) || Number.isNaN(date.getTime()))
    throw new ValidationError('cursor', 'expected the cursor of a previous page (its `next`)');
  return { at: date, id };
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The filter of a search without its cursor. */
export function messageSearchFilter(search: MessageSearch): Filter<MessageDoc> {
  const { text, sendingFacilities, limit: _limit, cursor: _cursor, ...query } = search;
  const parts: Filter<MessageDoc>[] = [searchFilter(query)];
  if (sendingFacilities !== undefined) parts.push({ sendingFacility: { $in: [...sendingFacilities] } });
  if (text !== undefined && text !== '') {
    parts.push({
      $or: [
        { controlId: text },
        { patientId: text },
        { accession: text },
        { orderNumber: text },
        { raw: { $regex: escapeRegex(text), $options: 'i' } },
      ],
    });
  }
  const nonEmpty = parts.filter((p) => Object.keys(p).length > 0);
  if (nonEmpty.length <= 1) return nonEmpty[0] ?? {};
  return { $and: nonEmpty };
}

export async function searchMessagePage(store: MessageStore, search: MessageSearch): Promise<MessagePage> {
  const filter = messageSearchFilter(search);
  const want = search.limit + 1;
  let docs: MessageSummary[];
  if (search.cursor === undefined) {
    docs = await store.summaries(filter, want);
  } else {
    const { at, id } = decodeCursor(search.cursor);
    const sameMoment = await store.summaries({ $and: [filter, { receivedAt: at, _id: { $lt: id } }] }, want);
    const older =
      sameMoment.length < want
        ? await store.summaries({ $and: [filter, { receivedAt: { $lt: at } }] }, want - sameMoment.length)
        : [];
    docs = [...sameMoment, ...older];
  }
  const items = docs.slice(0, search.limit);
  const last = docs.length > search.limit ? items.at(-1) : undefined;
  return { items, next: last ? encodeCursor(last) : null };
}
