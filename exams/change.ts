// Who or what made a change. Every command of the exam service takes one, and it is kept in the document's
// history and in the event, so an analyst can answer "which message cancelled this exam?" years later.
import { InvalidInputError } from './errors.ts';

export interface ChangeSource {
  /** The user, channel or component: `alice`, `channel:valley-orders`, `dicom-scp`. */
  actor: string;
  /** The way in, free text chosen by the protocol layer: `hl7`, `fhir`, `dicom`, `admin-ui`, `system`. */
  via: string;
  /** The message store id or request id that carried the change, when there is one. */
  messageId?: string;
}

export type FieldValue = string | number | boolean | null;

export interface FieldChange {
  from: FieldValue;
  to: FieldValue;
}

export interface HistoryEntry {
  at: string;
  /** The document version this change produced. */
  version: number;
  /** The event type, e.g. `exam.status-changed`. */
  event: string;
  by: ChangeSource;
  changes?: Record<string, FieldChange>;
  reason?: string;
}

export function checkSource(by: ChangeSource): ChangeSource {
  if (typeof by?.actor !== 'string' || by.actor === '')
    throw new InvalidInputError('by.actor', 'who made the change is required');
  if (typeof by.via !== 'string' || by.via === '')
    throw new InvalidInputError('by.via', 'the way the change came in is required');
  return by.messageId === undefined
    ? { actor: by.actor, via: by.via }
    : { actor: by.actor, via: by.via, messageId: by.messageId };
}

/** Field-by-field difference of two flat records, for the history; undefined when nothing changed. */
export function diff(
  before: Record<string, FieldValue | undefined>,
  after: Record<string, FieldValue | undefined>,
): Record<string, FieldChange> | undefined {
  const changes: Record<string, FieldChange> = {};
  for (const key of Object.keys(after)) {
    const from = before[key] ?? null;
    const to = after[key] ?? null;
    if (from !== to) changes[key] = { from, to };
  }
  return Object.keys(changes).length > 0 ? changes : undefined;
}
