// Escalation of unacknowledged urgent exams: the `dispatch-escalation` destination, on the technician-dispatch
// channel, schedules a check (an agenda job, so it outlives a restart) `ackTimeoutMs` after an urgent exam was
// dispatched, assigned or escalated. A check that finds the exam still unacknowledged escalates it to the
// facility's next technician (exams/dispatch-commands.ts), whose escalation event is dispatched in turn and
// schedules the next check, up to `maxRounds`.
import type { DestinationConnectorType, OutboundMessage, SendResult } from '../channels/connector.ts';
import { priorities, type Priority } from '../exams/exam.ts';
import type { ExamService } from '../exams/service.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import type { Scheduler } from '../runtime/scheduler.ts';
import { expectArray, expectInteger, expectKeys, expectObject, expectOneOf, join } from '../runtime/validate.ts';
import { dispatchEventOf } from './dispatch-notices.ts';

export interface EscalationSettings {
  priorities: Priority[];
  ackTimeoutMs: number;
  maxRounds: number;
}

const checkJob = 'dispatch-escalation-check';
const by = { actor: 'dispatch-escalation', via: 'system' } as const;

export class DispatchEscalation {
  readonly #scheduler: Scheduler;

  constructor(scheduler: Scheduler, exams: ExamService, log: Logger) {
    this.#scheduler = scheduler;
    scheduler.define<{ examNumber: string; round: number }>(
      checkJob,
      async ({ examNumber, round }) => {
        const escalated = await exams.dispatch.escalate(examNumber, round, by);
        if (escalated)
          log.info('exam escalated to the next technician', { round, technicianId: escalated.technicianId });
      },
      // One job per STAT exam and round: removed once run, so the jobs collection does not keep every exam.
      { retry: { maxAttempts: 5, initialDelayMs: 5000 }, removeOnComplete: true },
    );
  }

  async schedule(examNumber: string, round: number, delayMs: number): Promise<void> {
    await this.#scheduler.schedule(new Date(Date.now() + delayMs), checkJob, { examNumber, round });
  }
}

function parseSettings(input: unknown, at: string): EscalationSettings {
  const value = expectObject(input ?? {}, at);
  expectKeys(value, at, ['priorities', 'ackTimeoutMs', 'maxRounds']);
  return {
    priorities: expectArray(value['priorities'] ?? ['stat'], join(at, 'priorities')).map((p, i) =>
      expectOneOf(p, join(join(at, 'priorities'), i), priorities),
    ),
    ackTimeoutMs: expectInteger(value['ackTimeoutMs'] ?? 600_000, join(at, 'ackTimeoutMs'), 100),
    maxRounds: expectInteger(value['maxRounds'] ?? 3, join(at, 'maxRounds'), 1, 100),
  };
}

export function dispatchEscalationDestinationType(
  exams: ExamService,
  escalation: DispatchEscalation | undefined,
): DestinationConnectorType<EscalationSettings> {
  return {
    type: 'dispatch-escalation',
    parseSettings,
    create: (settings) => ({
      async send(message: OutboundMessage): Promise<SendResult> {
        if (escalation === undefined) return { status: 'retry', error: 'escalation is not wired in this process' };
        try {
          const dispatch = await dispatchEventOf(message.content, exams);
          if (dispatch === undefined || !settings.priorities.includes(dispatch.exam.priority))
            return { status: 'sent', response: 'no escalation for this exam' };
          const round = (dispatch.exam.escalations ?? 0) + 1;
          if (round > settings.maxRounds)
            return { status: 'sent', response: `no escalation after ${settings.maxRounds} rounds` };
          await escalation.schedule(dispatch.exam.examNumber, round, settings.ackTimeoutMs);
          return { status: 'sent', response: `escalation round ${round} checked in ${settings.ackTimeoutMs} ms` };
        } catch (error) {
          return { status: 'retry', error: errorText(error) };
        }
      },
      stop: async () => {},
    }),
  };
}
