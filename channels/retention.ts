// Retention as a scheduled job. The scheduler is whatever hub.ts has (runtime/scheduler.ts over agenda); the
// engine needs only this much of it, so it does not depend on agenda.
import { errorText, type Logger } from '../runtime/log.ts';
import type { ChannelEngine } from './engine.ts';

export interface RetentionScheduler {
  /** Runs `handler` every `interval` (agenda's human interval, e.g. '1 hour', or milliseconds). */
  every(name: string, interval: string | number, handler: () => Promise<void>): Promise<unknown> | unknown;
}

export const retentionJobName = 'channels.retention';

export async function scheduleRetention(
  scheduler: RetentionScheduler,
  engine: ChannelEngine,
  log: Logger,
  interval: string | number = '1 hour',
): Promise<void> {
  await scheduler.every(retentionJobName, interval, async () => {
    try {
      await engine.applyRetention();
    } catch (error) {
      log.error('retention failed', { error: errorText(error) });
      throw error;
    }
  });
}
