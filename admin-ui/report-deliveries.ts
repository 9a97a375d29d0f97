// Where each exam's report went: the facility's completed list shows, per way out (ORU^R01 to the EHR, the FHIR
// push, fax, e-mail), whether the latest report reached it. The truth is in the message store: every report
// channel stores its `report.issued` messages indexed by exam number (composition/exam-events-source.ts), each
// with one delivery record per destination, so this reads them instead of keeping a second copy on the exam.
import type { DeliveryState, MessageSummary } from '../channels/message-store.ts';

export interface ReportDeliveryView {
  channelId: string;
  destination: string;
  state: DeliveryState;
  attempts: number;
  lastError?: string;
  updatedAt: Date;
}

/** The messages of one type about any of the given orders (exam numbers), newest first. */
export type OrderMessages = (messageType: string, orderNumbers: readonly string[]) => Promise<MessageSummary[]>;

/** A destination that had nothing to send for this facility or this version says so in its response. */
const notSent = /^not sent: /;

/**
 * For each exam, the newest delivery of each channel destination for its report events; a destination that
 * answered "not sent" (the facility has no such way, or a later version went out instead) is left out, so the
 * list names only the ways the report really travels. One lookup serves a whole page of exams.
 */
export async function reportDeliveriesOf(
  find: OrderMessages,
  examNumbers: readonly string[],
): Promise<Map<string, ReportDeliveryView[]>> {
  const perExam = new Map<string, Map<string, ReportDeliveryView>>(examNumbers.map((n) => [n, new Map()]));
  for (const message of await find('report.issued', examNumbers)) {
    const seen = message.orderNumber === undefined ? undefined : perExam.get(message.orderNumber);
    if (seen === undefined) continue;
    for (const delivery of message.destinations) {
      const key = `${message.channelId}\u0000${delivery.name}`;
      if (seen.has(key) || notSent.test(delivery.response ?? '')) continue;
      seen.set(key, {
        channelId: message.channelId,
        destination: delivery.name,
        state: delivery.state,
        attempts: delivery.attempts,
        ...(delivery.lastError === undefined ? {} : { lastError: delivery.lastError }),
        updatedAt: delivery.updatedAt,
      });
    }
  }
  return new Map([...perExam].map(([examNumber, seen]) => [examNumber, [...seen.values()]]));
}
