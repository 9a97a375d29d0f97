// A part of the hub that is at its capacity and refuses work instead of queueing it without bound (the report PDF
// threads: documents/report-pdf-pool.ts). It carries when to try again, so every way in answers alike: HTTP with
// 503 and Retry-After (RFC 9110 15.6.4, 10.2.3; http/http-error.ts), a channel destination with a retry.
export class BusyError extends Error {
  /** Whole seconds, at least 1: what Retry-After says. */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = 'BusyError';
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}
