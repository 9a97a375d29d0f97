// The DICOM listener as the console's dashboard shows it: the associations open now and each calling AE's
// totals today (AssociationActivity, in memory), the studies still waiting for their quiet period to end, and
// the studies completed in the last hour with, per destination, how many of their instances it has stored.
// Read from the study index with bounded queries (at most `limit` studies each), since every open console polls.
import type { AssociationActivity, AssociationSnapshot } from './association-observer.ts';
import { isStored, type StudyIndex } from './study-index.ts';

export interface WaitingStudy {
  studyInstanceUid: string;
  facility: string;
  examNumber?: string;
  instanceCount: number;
  lastReceivedAt: string;
  /** When the study counts as complete unless another instance arrives. */
  completeDueAt: string;
}

export interface StudyDelivery {
  studyInstanceUid: string;
  facility: string;
  examNumber?: string;
  completedAt?: string;
  instanceCount: number;
  /** Per destination that has tried the study; none yet means it waits in its channel's queue. */
  destinations: Array<{ destination: string; stored: number; failed: number }>;
}

export interface DicomListenerPanel extends AssociationSnapshot {
  waitingForCompletion: WaitingStudy[];
  delivery: StudyDelivery[];
}

const recentMs = 60 * 60 * 1000;

export async function dicomListenerPanel(
  index: StudyIndex,
  activity: AssociationActivity,
  limit = 20,
  now = Date.now(),
): Promise<DicomListenerPanel> {
  const [waiting, completed] = await Promise.all([
    index.studies.find({ complete: false }).sort({ completeDueAt: 1 }).limit(limit).toArray(),
    index.studies
      .find({ complete: true, completeDueAt: { $gte: now - recentMs } })
      .sort({ completeDueAt: -1 })
      .limit(limit)
      .toArray(),
  ]);
  const deliveries = await index.deliveriesOf(completed.map((s) => s._id));
  return {
    ...activity.snapshot(),
    waitingForCompletion: waiting.map((s) => ({
      studyInstanceUid: s._id,
      facility: s.facility,
      ...(s.examNumber === undefined ? {} : { examNumber: s.examNumber }),
      instanceCount: s.instanceCount,
      lastReceivedAt: s.lastReceivedAt,
      completeDueAt: new Date(s.completeDueAt).toISOString(),
    })),
    delivery: completed.map((s) => {
      const perDestination = new Map<string, { destination: string; stored: number; failed: number }>();
      for (const d of deliveries.filter((r) => r.studyInstanceUid === s._id)) {
        const entry = perDestination.get(d.destination) ?? { destination: d.destination, stored: 0, failed: 0 };
        if (isStored(d.state)) entry.stored++;
        else entry.failed++;
        perDestination.set(d.destination, entry);
      }
      return {
        studyInstanceUid: s._id,
        facility: s.facility,
        ...(s.examNumber === undefined ? {} : { examNumber: s.examNumber }),
        ...(s.completedAt === undefined ? {} : { completedAt: s.completedAt }),
        instanceCount: s.instanceCount,
        destinations: [...perDestination.values()],
      };
    }),
  };
}
