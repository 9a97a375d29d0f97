// The message browser's query string, checked: every parameter of GET /api/messages and its export, with a bad
// value refused at its name (`receivedFrom: expected an ISO 8601 date-time`).
import type { Context } from 'koa';
import type { MessageSearch } from '../channels/message-search.ts';
import { ValidationError } from '../runtime/validate.ts';

const stateNames = ['received', 'filtered', 'processed', 'queued', 'sent', 'error'] as const;
const textFields = [
  'channelId',
  'destination',
  'messageType',
  'controlId',
  'patientId',
  'accession',
  'orderNumber',
  'text',
  'cursor',
] as const;

export function messageSearch(query: Context['query'], maxLimit: number, defaultLimit = 50): MessageSearch {
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (Array.isArray(value)) throw new ValidationError(name, 'expected one value');
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const date = (name: string): Date | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) throw new ValidationError(name, 'expected an ISO 8601 date-time');
    return parsed;
  };
  const limitText = text('limit');
  if (limitText !== undefined && (!/^\d+$/.test(limitText) || +limitText < 1 || +limitText > maxLimit))
    throw new ValidationError('limit', `expected a whole number from 1 to ${maxLimit}`);
  const state = text('state');
  if (state !== undefined && !(stateNames as readonly string[]).includes(state))
    throw new ValidationError('state', `expected one of: ${stateNames.join(', ')}`);
  const search: MessageSearch = { limit: limitText === undefined ? defaultLimit : Number(limitText) };
  for (const field of textFields) {
    const value = text(field);
    if (value !== undefined) search[field] = value;
  }
  if (state !== undefined) search.state = state as MessageSearch['state'];
  const from = date('receivedFrom');
  if (from) search.receivedFrom = from;
  const to = date('receivedTo');
  if (to) search.receivedTo = to;
  return search;
}

/** `ids=a,b,c`: the messages an analyst selected. */
export function selectedIds(query: Context['query'], max: number): string[] | undefined {
  const value = query['ids'];
  if (value === undefined || value === '') return undefined;
  const ids = (Array.isArray(value) ? value.join(',') : value).split(',').filter((id) => id !== '');
  if (ids.length > max) throw new ValidationError('ids', `expected at most ${max} message ids`);
  if (!ids.every((id) => /^[0-9a-f]{24}$/.test(id))) throw new ValidationError('ids', 'expected message ids');
  return ids;
}
