// Where each exam's report went: the facility's completed list shows, per way out (ORU^R01 to the EHR, the FHIR
// push, fax, e-mail), whether the latest report reached it. The truth is in the message store: every report
// channel stores its `report.issued` messages indexed by exam number (composition/exam-events-source.ts), each
// with one delivery record per destination, so this reads them instead of keeping a second copy on the exam.
import type { DeliveryState, MessageQuery, MessageSummary } from '../channels/message-store.ts';

export interface ReportDeliveryView {
  channelId: string;
  destination: string;
  state: DeliveryState;
  attempts: number;
  lastError?: string;
  updatedAt: Date;
}

export type MessageSearch = (query: MessageQuery) => Promise<{ items: MessageSummary[] }>;

/** A destination that had nothing to send for this facility or this version says so in its response. */
const notSent = /^not sent: /;

/**
 * The newest delivery of each channel destination for the exam's report events, newest message first; a
 * destination that answered "not sent" (the facility has no such way, or a later version went out instead) is
 * left out, so the list names only the ways the report really travels.
 */
export async function reportDeliveriesOf(search: MessageSearch, examNumber: string): Promise<ReportDeliveryView[]> {
  const { items } = await search({ messageType: 'report.issued', orderNumber: examNumber, limit: 100 });
  const seen = new Map<string, ReportDeliveryView>();
  for (const message of items) {
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
  return [...seen.values()];
}
