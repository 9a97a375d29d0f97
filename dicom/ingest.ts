// The one way an instance enters the hub, whether it came over DIMSE (the SCP's onInstanceStored) or HTTP
// (STOW-RS): move the file into the study file store, index it, match the study to an exam, attach the study
// and push its completion back. It resolves only when all of that is stored, so the sender's success means
// "on disk and recorded" (DESIGN.md); a rejection makes the SCP answer 0xA700 and STOW-RS a failed instance.
//
// File layout: <storageDir>/studies/<Study UID>/<SOP UID>.dcm. What arrives is a file of its own elsewhere (the
// SCP's synced temp file in hand-over mode, a STOW-RS part), never the indexed copy itself: with
// duplicateInstances 'ignore' the first copy stays untouched, and a failed resend (its file is removed when
// recording fails) can never delete an acknowledged instance.
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { ChangeSource } from '../exams/change.ts';
import type { Facility } from '../exams/facility.ts';
import type { ExamService } from '../exams/service.ts';
import type { Logger } from '../runtime/log.ts';
import type { StoredInstance } from './incoming-instance.ts';
import type { StudyCompletion } from './study-completion.ts';
import { StudyFolders } from './study-folders.ts';
import type { InstanceRecord, StudyHeader, StudyIndex, StudyRecord } from './study-index.ts';
import { isWhole } from './whole-instance.ts';
import { dicomDate, matchStudy, type StudyTags } from './study-matching.ts';

/** An instance on disk with its routing tags: the SCP's StoredInstance without the association facts. */
export type IngestInstance = Omit<StoredInstance, 'associationId' | 'callingAe' | 'calledAe'>;

export interface IngestOrigin {
  facility: Facility;
  /** The calling AE title (DIMSE) or `http:<user>` (STOW-RS); kept on the instance and the study. */
  source: string;
  /** Kept in the exam history: `dicom` or `dicomweb`. */
  via: string;
  /** The calling AE title, when there is one (kept on the exam's study reference). */
  callingAe?: string;
}

export interface IngestOptions {
  exams: ExamService;
  index: StudyIndex;
  completion: StudyCompletion;
  storageDir: string;
  duplicateInstances: 'replace' | 'ignore';
  studyQuietSeconds: number;
  /** fsync the study folder after each move (as the SCP does for its own rename). */
  syncStorage: boolean;
  log: Logger;
}

/** The instance names a study (or an instance) that another facility sent: refused, nothing stored. */
export class ForeignStudyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForeignStudyError';
  }
}

export class StudyIngest {
  readonly #options: IngestOptions;
  /** Instances of one study are matched one at a time: the first decides the exam, the rest follow it. */
  readonly #studyLocks = new Map<string, Promise<unknown>>();
  /**
   * Studies of one facility are matched one at a time too: many studies naming one order (one accession) would
   * otherwise all attach to one exam at once, and its optimistic write gives up after a few concurrent changes
   * (100 parallel associations: 23 answered 0xA700). Matching runs once per study, so the queue is short.
   */
  readonly #matchLocks = new Map<string, Promise<unknown>>();

  readonly #folders: StudyFolders;

  constructor(options: IngestOptions) {
    this.#options = options;
    this.#folders = new StudyFolders(path.join(options.storageDir, 'studies'));
  }

  /**
   * `sealed` settles once the file's own data are on disk (the SCP's fdatasync, running meanwhile); resolved by
   * default, for a file that is complete already (STOW-RS).
   */
  async ingest(instance: IngestInstance, origin: IngestOrigin, sealed = Promise.resolve()): Promise<void> {
    checkUid(instance.studyInstanceUid, '(0020,000D) Study Instance UID');
    checkUid(instance.sopInstanceUid, '(0008,0018) SOP Instance UID');
    return this.#withStudyLock(instance.studyInstanceUid, () => this.#ingest(instance, origin, sealed));
  }

  async #ingest(instance: IngestInstance, origin: IngestOrigin, sealed: Promise<void>): Promise<void> {
    const { index } = this.#options;
    const [existing, knownStudy] = await Promise.all([
      index.instance(instance.sopInstanceUid),
      index.study(instance.studyInstanceUid),
    ]);
    // UIDs are global, facilities are not: one facility's upload must never add to, or replace part of, another
    // facility's study (a reused or forged UID would otherwise attach images to the wrong patient's exam).
    if (existing !== undefined && existing.facility !== origin.facility.code) {
      throw new ForeignStudyError('the SOP Instance UID belongs to a study of another facility');
    }
    if (knownStudy !== undefined && knownStudy.facility !== origin.facility.code) {
      throw new ForeignStudyError('the Study Instance UID belongs to a study of another facility');
    }
    if (this.#options.duplicateInstances === 'ignore' && existing && (await isWhole(existing))) {
      await sealed.catch(() => undefined);
      await unlink(instance.filePath).catch(() => undefined);
      this.#options.log.info('duplicate instance ignored', {
        studyInstanceUid: instance.studyInstanceUid,
        sopInstanceUid: instance.sopInstanceUid,
      });
      return;
    }
    // A copy of a known instance replaces a file that may have been acknowledged: it moves only once its own data
    // are on disk. A new instance moves at once, so its data, its folder entry and its record reach the disk in
    // one sync round.
    if (existing !== undefined) await sealed;
    const { filePath, synced } = this.#keep(instance);
    const sealFailed = sealed.then(
      () => false,
      () => true,
    );
    const receivedAt = new Date().toISOString();
    // The instance record and the study touch are issued together, so the embedded engine commits them with one
    // fdatasync (MongoDB gets them pipelined); the file's fdatasync and the directory sync of the move run
    // meanwhile. All are awaited before the sender hears success. A crash in between leaves an unacknowledged
    // instance, which the sender sends again: a record whose file is missing or short (its data not yet synced;
    // ext4 and XFS never show unwritten blocks) is stored anew, since duplicates are judged by the file too.
    const expectAdded = existing === undefined;
    const recorded = Promise.all([
      index.putInstance(instanceRecord(instance, origin, filePath, receivedAt)),
      index.touchStudy({
        studyInstanceUid: instance.studyInstanceUid,
        facility: origin.facility.code,
        seriesInstanceUid: instance.seriesInstanceUid,
        added: expectAdded,
        receivedAt,
        quietMs: this.#options.studyQuietSeconds * 1000,
        source: origin.source,
        modality: instance.modality,
        header: studyHeader(instance),
      }),
      synced,
      sealed,
    ]);
    let put: Awaited<typeof recorded>[0];
    let touched: StudyRecord;
    try {
      [put, touched] = await recorded;
    } catch (error) {
      // The data never reached the disk: what was moved into the study folder is not the instance.
      if (await sealFailed) await unlink(filePath).catch(() => undefined);
      throw error;
    }
    const { added, previous } = put;
    // Another process indexed the same instance between our read and our insert: it counted it already.
    const study = added === expectAdded ? touched : await index.uncount(instance.studyInstanceUid);
    if (previous && previous.filePath !== filePath) await unlink(previous.filePath).catch(() => undefined);
    if (!study.examNumber)
      await withLock(this.#matchLocks, origin.facility.code, () => this.#match(study, instance, origin));
    await this.#options.completion.studyTouched(study);
  }

  async #match(study: StudyRecord, instance: IngestInstance, origin: IngestOrigin): Promise<void> {
    const { exams, index } = this.#options;
    if (study.examNumber) return;
    const by: ChangeSource = { actor: origin.callingAe ? `dicom:${origin.callingAe}` : origin.source, via: origin.via };
    const tags: StudyTags = { studyInstanceUid: instance.studyInstanceUid, ...definedTags(instance) };
    const match = await matchStudy(exams, index, origin.facility, tags, by);
    if (match.firstMatch) {
      const studyDate = dicomDate(instance.studyDate);
      await exams.attachStudy(
        match.examNumber,
        {
          studyInstanceUid: instance.studyInstanceUid,
          instanceCount: study.instanceCount,
          ...(instance.accessionNumber ? { accessionNumber: instance.accessionNumber } : {}),
          ...(instance.modality ? { modality: instance.modality } : {}),
          ...(origin.callingAe ? { sourceAeTitle: origin.callingAe } : {}),
          ...(studyDate ? { studyDate } : {}),
        },
        by,
      );
    }
    await index.setMatch(instance.studyInstanceUid, match.examNumber, match.method);
    this.#options.log.info('study matched', {
      studyInstanceUid: instance.studyInstanceUid,
      examNumber: match.examNumber,
      method: match.method,
      facility: origin.facility.code,
    });
  }

  /** Moves the received file to its study folder; `synced` settles once the move is durable. */
  #keep(instance: IngestInstance): { filePath: string; synced: Promise<void> } {
    return this.#folders.move(
      instance.filePath,
      instance.studyInstanceUid,
      `${instance.sopInstanceUid}.dcm`,
      this.#options.syncStorage,
    );
  }

  /** Closes the study folders kept open. */
  async stop(): Promise<void> {
    await this.#folders.close();
  }

  async #withStudyLock<T>(studyUid: string, work: () => Promise<T>): Promise<T> {
    return withLock(this.#studyLocks, studyUid, work);
  }
}

/** Runs `work` after every earlier work of the same key settled. */
async function withLock<T>(locks: Map<string, Promise<unknown>>, key: string, work: () => Promise<T>): Promise<T> {
  const before = locks.get(key) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(work);
  locks.set(key, run);
  try {
    return await run;
  } finally {
    if (locks.get(key) === run) locks.delete(key);
  }
}

function instanceRecord(
  instance: IngestInstance,
  origin: IngestOrigin,
  filePath: string,
  receivedAt: string,
): InstanceRecord {
  const record: InstanceRecord = {
    _id: instance.sopInstanceUid,
    studyInstanceUid: instance.studyInstanceUid,
    seriesInstanceUid: instance.seriesInstanceUid,
    sopClassUid: instance.sopClassUid,
    transferSyntaxUid: instance.transferSyntaxUid,
    filePath,
    sizeBytes: instance.sizeBytes,
    facility: origin.facility.code,
    source: origin.source,
    receivedAt,
  };
  const seriesNumber = integer(instance.seriesNumber);
  const instanceNumber = integer(instance.instanceNumber);
  if (seriesNumber !== undefined) record.seriesNumber = seriesNumber;
  if (instanceNumber !== undefined) record.instanceNumber = instanceNumber;
  if (instance.modality) record.modality = instance.modality;
  if (instance.seriesDescription) record.seriesDescription = instance.seriesDescription;
  if (instance.patientId) record.patientId = instance.patientId;
  if (instance.accessionNumber) record.accessionNumber = instance.accessionNumber;
  for (const key of ['rows', 'columns', 'bitsAllocated', 'numberOfFrames'] as const) {
    const value = integer(instance[key]);
    if (value !== undefined) record[key] = value;
  }
  return record;
}

function studyHeader(instance: IngestInstance): StudyHeader {
  const studyDate = dicomDate(instance.studyDate);
  const started = startedAt(studyDate, instance.studyTime);
  return {
    ...(instance.accessionNumber ? { accessionNumber: instance.accessionNumber } : {}),
    ...(studyDate ? { studyDate } : {}),
    ...(started ? { started } : {}),
    ...(instance.studyDescription ? { studyDescription: instance.studyDescription } : {}),
    ...(instance.studyId ? { studyId: instance.studyId } : {}),
    ...(instance.patientId ? { dicomPatientId: instance.patientId } : {}),
    ...(instance.patientName ? { patientName: instance.patientName } : {}),
    ...(instance.patientBirthDate ? { patientBirthDate: instance.patientBirthDate } : {}),
    ...(instance.patientSex ? { patientSex: instance.patientSex } : {}),
    ...(instance.studyTime ? { studyTime: instance.studyTime } : {}),
  };
}

function definedTags(instance: IngestInstance): Omit<StudyTags, 'studyInstanceUid'> {
  const tags: Omit<StudyTags, 'studyInstanceUid'> = {};
  for (const key of [
    'patientId',
    'issuerOfPatientId',
    'patientName',
    'patientBirthDate',
    'patientSex',
    'accessionNumber',
    'modality',
    'studyDescription',
  ] as const) {
    const value = instance[key];
    if (value) tags[key] = value;
  }
  const studyDate = dicomDate(instance.studyDate);
  if (studyDate) tags.studyDate = studyDate;
  return tags;
}

/** Study Date + Study Time (TM, PS3.5 6.2: HHMMSS.FFFFFF, trailing parts optional) as a local date-time. */
function startedAt(date: string | undefined, time: string | undefined): string | undefined {
  if (!date) return undefined;
  const match = /^(\d{2})(\d{2})?(\d{2})?/.exec(time?.trim() ?? '');
  if (!match) return date;
  return `${date}T${match[1]}:${match[2] ?? '00'}:${match[3] ?? '00'}`;
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^[+-]?\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** UIDs become folder and file names: digits and dots only (PS3.5 9.1), so no path can escape storageDir. */
function checkUid(uid: string, what: string): void {
  if (!/^[0-9]+(\.[0-9]+)*$/.test(uid) || uid.length > 64) throw new Error(`${what} is not a valid UID`);
}
