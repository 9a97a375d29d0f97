// Exponential backoff between delivery attempts: initial, initial*m, initial*m^2, ... capped at maxDelayMs.
import type { RetryPolicy } from './definition.ts';

/** The wait after `attempt` failed attempts (attempt >= 1). */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  const delay = policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1);
  return Math.min(policy.maxDelayMs, Math.round(delay));
}
