// The studies the hub received, as every protocol reads them: dicom/ writes them (dicom/study-index.ts keeps
// them in the store beside the files) and fhir/ serves them as ImagingStudy. The records and the small read
// interface live in the domain so that neither protocol imports the other.
import type { HubCollection } from '../store/db.ts';

/** How the study found its exam (dicom/study-matching.ts); `manual`: attached from the exception list. */
export type MatchMethod = 'study-uid' | 'exam-number' | 'accession' | 'patient' | 'new-exam' | 'manual';

export interface InstanceRecord {
  /** SOP Instance UID. */
  _id: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  filePath: string;
  sizeBytes: number;
  facility: string;
  /** The calling AE (DIMSE) or `http:<user>` (STOW-RS). */
  source: string;
  receivedAt: string;
  seriesNumber?: number;
  instanceNumber?: number;
  modality?: string;
  seriesDescription?: string;
  patientId?: string;
  accessionNumber?: string;
  /** Image size, for DICOMweb instance searches (PS3.18 table 10.6.3-5). */
  rows?: number;
  columns?: number;
  bitsAllocated?: number;
  numberOfFrames?: number;
}

/**
 * The study-level tags kept from the instance that created the study. A field without a value is left out, not
 * set to undefined: touchStudy spreads these into the stored document.
 */
export interface StudyHeader {
  accessionNumber?: string;
  /** YYYY-MM-DD */
  studyDate?: string;
  /** ISO date-time from Study Date + Time, for FHIR ImagingStudy.started. */
  started?: string;
  studyDescription?: string;
  studyId?: string;
  dicomPatientId?: string;
  /** As sent (PN, PS3.5 6.2), for DICOMweb QIDO and the worklist; patient data, never logged above debug. */
  patientName?: string;
  /** DA as sent: YYYYMMDD. */
  patientBirthDate?: string;
  patientSex?: string;
  /** TM as sent: HHMMSS.FFFFFF. */
  studyTime?: string;
}

export interface StudyRecord extends StudyHeader {
  /** Study Instance UID. */
  _id: string;
  facility: string;
  examNumber?: string;
  matchedBy?: MatchMethod;
  instanceCount: number;
  seriesUids: string[];
  modalities: string[];
  firstReceivedAt: string;
  lastReceivedAt: string;
  /** Epoch ms after which the study counts as complete unless another instance arrives. */
  completeDueAt: number;
  complete: boolean;
  completedAt?: string;
  /** A completion job is pending in the scheduler (at most one per study). */
  completionScheduled: boolean;
  source?: string;
  /** patientName in upper case, for indexed QIDO name searches (dicom/patient-name-key.ts). */
  patientNameKey?: string;
}

/** What a reader of studies needs (FHIR ImagingStudy read and search); dicom/study-index.ts's StudyIndex is one. */
export interface StudyReader {
  readonly studies: HubCollection<StudyRecord>;
  study(studyInstanceUid: string): Promise<StudyRecord | undefined>;
  /** Instances of a study in series/instance order (the order a PACS shows them). */
  instancesOf(studyInstanceUid: string): Promise<InstanceRecord[]>;
}
