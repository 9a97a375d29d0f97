// The study index: what the hub knows about every DICOM instance and study it stored, kept in the hub's store
// beside the files. Three collections:
// - dicom_instances: one document per SOP Instance UID (its _id, so an instance can never be indexed twice),
//   with the file, its size and transfer syntax, the study/series it belongs to and the tags the hub routes on;
// - dicom_studies: one per Study Instance UID, with the exam it was matched to and how, counts, first/last
//   received and the completion state (dicom/study-completion.ts);
// - dicom_deliveries: one per (destination, instance): the last C-STORE outcome at that destination, so a
//   retry sends only what the PACS has not yet stored.
// Every change is one atomic single-document write ($inc, $addToSet, $max): several associations may add
// instances of one study at the same time.
import type { HubDb } from '../store/db.ts';
import { isDuplicateKeyError } from '../store/db.ts';
import { patientNameKey } from './patient-name-key.ts';
import type { SendState } from './scu.ts';
import type { InstanceRecord, MatchMethod, StudyHeader, StudyRecord } from '../exams/study-records.ts';

// The records are shared with fhir/ (ImagingStudy), so they live in exams/study-records.ts.
export type { InstanceRecord, MatchMethod, StudyHeader, StudyRecord } from '../exams/study-records.ts';

export interface DeliveryRecord {
  /** `<destination>|<SOP Instance UID>` */
  _id: string;
  destination: string;
  studyInstanceUid: string;
  sopInstanceUid: string;
  state: SendState;
  status?: number;
  reason?: string;
  at: string;
  attempts: number;
}

export interface StudyCount {
  instanceCount: number;
  seriesCount: number;
}

export interface StudyTouch {
  studyInstanceUid: string;
  facility: string;
  seriesInstanceUid: string;
  /** false when the instance replaced an indexed one: the count stays. */
  added: boolean;
  receivedAt: string;
  quietMs: number;
  modality?: string;
  /** Stored only when the study is created. */
  header: StudyHeader;
  source: string;
}

export class StudyIndex {
  readonly #db: HubDb;

  constructor(db: HubDb) {
    this.#db = db;
  }

  get instances() {
    return this.#db.collection<InstanceRecord>('dicom_instances');
  }

  get studies() {
    return this.#db.collection<StudyRecord>('dicom_studies');
  }

  get #deliveries() {
    return this.#db.collection<DeliveryRecord>('dicom_deliveries');
  }

  async ensureIndexes(): Promise<void> {
    await this.instances.createIndex({ studyInstanceUid: 1 });
    await this.studies.createIndex({ examNumber: 1 });
    await this.studies.createIndex({ complete: 1, completeDueAt: 1 });
    await this.studies.createIndex({ accessionNumber: 1 });
    // QIDO-RS study searches (dicom/qido-rs.ts) and C-FIND (study-find.ts) answer newest first ({studyDate: -1,
    // _id: 1}) a page at a time: with the sort's keys in an index, after the facility for a facility's users and
    // alone for RSO staff, a page (or a date range's page) reads its rows in that order and stops, instead of
    // sorting every match (7-9 queries a second over 10,000 studies without them, bench:dicomweb). Also by patient.
    await this.studies.createIndex({ facility: 1, studyDate: -1, _id: 1 });
    await this.studies.createIndex({ studyDate: -1, _id: 1 });
    await this.studies.createIndex({ dicomPatientId: 1 });
    await this.studies.createIndex({ patientNameKey: 1 });
    await this.#keyNames();
    await this.#deliveries.createIndex({ destination: 1, studyInstanceUid: 1 });
    await this.#deliveries.createIndex({ studyInstanceUid: 1 });
  }

  /** Studies indexed before names had a key get one, so a name search finds them too. */
  async #keyNames(): Promise<void> {
    const unkeyed = await this.studies
      .find({ patientName: { $exists: true }, patientNameKey: { $exists: false } } as never)
      .toArray();
    for (const study of unkeyed)
      await this.studies.updateOne(
        { _id: study._id },
        { $set: { patientNameKey: patientNameKey(study.patientName!) } },
      );
  }

  async instance(sopInstanceUid: string): Promise<InstanceRecord | undefined> {
    return (await this.instances.findOne({ _id: sopInstanceUid })) ?? undefined;
  }

  /**
   * Indexes an instance; a second copy of the SOP Instance UID replaces the record (the caller decided, per
   * config.dicom.duplicateInstances, that the copy is kept). Returns whether the instance is new.
   */
  async putInstance(record: InstanceRecord): Promise<{ added: boolean; previous?: InstanceRecord }> {
    try {
      await this.instances.insertOne(record);
      return { added: true };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const { _id, ...rest } = record;
    const previous = await this.instances.findOneAndUpdate({ _id }, { $set: rest }, { returnDocument: 'before' });
    return previous ? { added: false, previous } : { added: false };
  }

  /** Adds the instance to its study (created on the first instance) and pushes the completion time back. */
  async touchStudy(touch: StudyTouch): Promise<StudyRecord> {
    const onInsert: Partial<StudyRecord> = {
      facility: touch.facility,
      firstReceivedAt: touch.receivedAt,
      completionScheduled: false,
      source: touch.source,
      ...touch.header,
      ...(touch.header.patientName === undefined ? {} : { patientNameKey: patientNameKey(touch.header.patientName) }),
    };
    const addToSet: Record<string, string> = { seriesUids: touch.seriesInstanceUid };
    if (touch.modality) addToSet['modalities'] = touch.modality;
    const study = await this.studies.findOneAndUpdate(
      { _id: touch.studyInstanceUid },
      {
        $setOnInsert: onInsert,
        $inc: { instanceCount: touch.added ? 1 : 0 },
        $addToSet: addToSet,
        $max: { lastReceivedAt: touch.receivedAt, completeDueAt: Date.parse(touch.receivedAt) + touch.quietMs },
        // A late instance re-opens a completed study: it completes (and is routed) again after the quiet time.
        $set: { complete: false },
      } as never,
      { upsert: true, returnDocument: 'after' },
    );
    if (!study) throw new Error(`study ${touch.studyInstanceUid}: the store returned no document after an upsert`);
    return study;
  }

  /** Takes back a count touchStudy added for an instance that turned out not to be new. */
  async uncount(studyInstanceUid: string): Promise<StudyRecord> {
    const study = await this.studies.findOneAndUpdate(
      { _id: studyInstanceUid },
      { $inc: { instanceCount: -1 } },
      { returnDocument: 'after' },
    );
    if (!study) throw new Error(`study ${studyInstanceUid}: not in the index`);
    return study;
  }

  async study(studyInstanceUid: string): Promise<StudyRecord | undefined> {
    return (await this.studies.findOne({ _id: studyInstanceUid })) ?? undefined;
  }

  /**
   * Instance and series counts of the studies, as stored so far: the one count every view shows (work lists,
   * ImagingStudy), live while a study arrives and after a late instance re-opens it.
   */
  async countsOf(studyInstanceUids: readonly string[]): Promise<Map<string, StudyCount>> {
    const filter = { _id: { $in: [...new Set(studyInstanceUids)] } };
    const found = await this.studies.find(filter, { projection: { instanceCount: 1, seriesUids: 1 } }).toArray();
    return new Map(
      found.map((study) => [study._id, { instanceCount: study.instanceCount, seriesCount: study.seriesUids.length }]),
    );
  }

  async setMatch(studyInstanceUid: string, examNumber: string, matchedBy: MatchMethod): Promise<void> {
    await this.studies.updateOne({ _id: studyInstanceUid }, { $set: { examNumber, matchedBy } });
  }

  /** Instances of a study in series/instance order (the order a PACS shows them). */
  async instancesOf(studyInstanceUid: string): Promise<InstanceRecord[]> {
    const list = await this.instances.find({ studyInstanceUid }).toArray();
    // UIDs are digits and dots: compared by code unit, not by locale (localeCompare took 0.6 ms of a 500-instance
    // study's retrieve, 0.14 this way).
    return list.sort(
      (a, b) =>
        (a.seriesNumber ?? 0) - (b.seriesNumber ?? 0) ||
        ordinal(a.seriesInstanceUid, b.seriesInstanceUid) ||
        (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0) ||
        ordinal(a._id, b._id),
    );
  }

  /** Wins the right to schedule the study's completion job when none is pending. */
  async claimCompletionJob(studyInstanceUid: string): Promise<boolean> {
    const won = await this.studies.findOneAndUpdate(
      { _id: studyInstanceUid, completionScheduled: { $ne: true } },
      { $set: { completionScheduled: true } },
      { returnDocument: 'after' },
    );
    return won !== null;
  }

  async releaseCompletionJob(studyInstanceUid: string): Promise<void> {
    await this.studies.updateOne({ _id: studyInstanceUid }, { $set: { completionScheduled: false } });
  }

  /** Marks the study complete unless an instance arrived since `dueAt` was read (then false). */
  async markComplete(studyInstanceUid: string, dueAt: number): Promise<boolean> {
    const result = await this.studies.updateOne(
      { _id: studyInstanceUid, completeDueAt: dueAt },
      { $set: { complete: true, completedAt: new Date().toISOString(), completionScheduled: false } },
    );
    return result.matchedCount > 0;
  }

  /** Studies whose quiet time is over but that were not completed (a lost job, a crash mid-run). */
  async overdue(now: number, limit = 100): Promise<StudyRecord[]> {
    return this.studies
      .find({ complete: false, completeDueAt: { $lt: now } })
      .limit(limit)
      .toArray();
  }

  /** SOP Instance UIDs the destination already stored (success or warning). */
  async delivered(destination: string, studyInstanceUid: string): Promise<Map<string, DeliveryRecord>> {
    const records = await this.#deliveries.find({ destination, studyInstanceUid }).toArray();
    return new Map(records.map((record) => [record.sopInstanceUid, record]));
  }

  /** Every destination's record of these studies' instances (the console's delivery progress). */
  async deliveriesOf(studyInstanceUids: readonly string[]): Promise<DeliveryRecord[]> {
    if (studyInstanceUids.length === 0) return [];
    return this.#deliveries.find({ studyInstanceUid: { $in: [...studyInstanceUids] } }).toArray();
  }

  async recordDelivery(
    destination: string,
    studyInstanceUid: string,
    sopInstanceUid: string,
    outcome: { state: SendState; status?: number; reason?: string },
  ): Promise<void> {
    const set: Partial<DeliveryRecord> = {
      destination,
      studyInstanceUid,
      sopInstanceUid,
      state: outcome.state,
      at: new Date().toISOString(),
    };
    if (outcome.status !== undefined) set.status = outcome.status;
    const update: Record<string, unknown> = { $set: set, $inc: { attempts: 1 } };
    if (outcome.reason !== undefined) set.reason = outcome.reason;
    else update['$unset'] = { reason: '' };
    await this.#deliveries.updateOne({ _id: `${destination}|${sopInstanceUid}` }, update as never, { upsert: true });
  }
}

export function isStored(state: SendState | undefined): boolean {
  return state === 'success' || state === 'warning';
}

function ordinal(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
