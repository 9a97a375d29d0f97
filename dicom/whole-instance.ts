// An instance record is written in the same sync round as its file's data (dicom/ingest.ts), and the sender hears
// success only when both are on disk. A hub killed in between leaves a record whose file is missing or short: an
// instance the sender was never told was stored, and sends again. Such a file must not be taken as the instance:
// a duplicate check would keep it instead of the resend, and a PACS sent it waits for the rest of the data set and
// never answers (Orthanc, measured: no C-STORE-RSP, so the association and every instance after it time out).
import { stat } from 'node:fs/promises';
import type { InstanceRecord } from './study-index.ts';

/** The record's file is there with all its bytes. */
export async function isWhole(record: Pick<InstanceRecord, 'filePath' | 'sizeBytes'>): Promise<boolean> {
  return stat(record.filePath).then(
    (found) => found.size === record.sizeBytes,
    () => false,
  );
}
