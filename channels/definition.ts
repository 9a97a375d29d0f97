// The typed form of a channel definition (Mirth Connect's channel: one source, a filter and map, and
// destinations that each have their own filter, map and queue). channels/definition-schema.ts builds it from
// untrusted JSON; nothing else constructs one by hand except tests.

export type FilterOperator = 'eq' | 'ne' | 'in' | 'exists' | 'matches';

export interface FilterRule {
  path: string;
  operator: FilterOperator;
  /** eq/ne/matches: a string; in: a list of strings; exists: true (present) or false (absent). */
  value?: string | string[] | boolean;
}

/** A tree of rules: a rule, or an `and`/`or` of sub-filters (JSON: `{ "and": [ { "path": ..., ... }, ... ] }`). */
export type Filter = FilterRule | { and: Filter[] } | { or: Filter[] };

export type FieldMapping =
  /** Copies the first value found at `from` to `target`; a missing source leaves the target untouched. */
  { target: string; from: string } | { target: string; value: string };

export interface MapStep {
  mappings?: FieldMapping[];
  /** JavaScript run in a sandbox with `msg` (the document's JSON view); what it leaves in `msg` or returns is the result. */
  script?: string;
  /** Limit for the script, default 1000 ms. */
  scriptTimeoutMs?: number;
}

export interface ConnectorRef {
  type: string;
  /** Already parsed by the connector type's parseSettings, so its shape is the connector's own. */
  settings: unknown;
}

export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
}

/**
 * What happens when maxAttempts is reached: 'error' records the delivery as error and lets the queue move on;
 * 'pause' also records it and pauses the destination, keeping the item at the head for an operator (a
 * receiver that must see every message in order, e.g. an EHR, would rather stop than skip one).
 */
export type ExhaustedAction = 'error' | 'pause';

export interface DestinationDefinition {
  name: string;
  connector: ConnectorRef;
  filter?: Filter;
  map?: MapStep;
  queue: 'ordered' | 'unordered';
  /**
   * Unordered queues only: how many deliveries may be in flight at once (default defaultConcurrency). A peer
   * that takes several connections (SMTP servers, fax gateways) is then not bound by one round trip per item.
   */
  concurrency?: number;
  retry: RetryPolicy;
  /** 0 retries for ever. */
  maxAttempts: number;
  onExhausted: ExhaustedAction;
}

/**
 * When the source answers its sender (Mirth's and OIE's "Response" setting). 'after-validation': once the
 * message passed the filter, the map and every destination's check and is durably stored. `afterDestination`:
 * also wait, up to `timeoutMs`, for that destination's delivery: sent (or queued for a retry, as those engines
 * answer a queued message) reads as accepted, failed for good as an error.
 */
export type ResponseMode = 'after-validation' | { afterDestination: string; timeoutMs: number };

export interface ChannelDefinition {
  id: string;
  name: string;
  enabled: boolean;
  source: ConnectorRef;
  filter?: Filter;
  map?: MapStep;
  destinations: DestinationDefinition[];
  /** Absent: 'after-validation'. */
  response?: ResponseMode;
  /** Messages older than this many days are deleted by the retention job; 0 keeps them for ever. */
  retentionDays: number;
}

export const defaultResponseTimeoutMs = 10_000;

/** As nodemailer's pool (maxConnections 5): what a mail server or gateway is expected to take from one client. */
export const defaultConcurrency = 5;

export const defaultRetry: RetryPolicy = { initialDelayMs: 1000, maxDelayMs: 60_000, multiplier: 2 };
