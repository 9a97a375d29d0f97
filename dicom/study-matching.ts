// Which exam a study belongs to (DESIGN.md "DICOM matching", the RSO's two processes), tried in this order:
//   0. the study is already known (index, or an exam that has the Study Instance UID, or an order that carried
//      it, HL7 IPC-3): every instance of one study goes to the same exam;
//   a. full process: PatientID (0010,0020) holds an RSO exam number of the sending facility;
//   b. integration process: the calling AE gives the facility; AccessionNumber (0008,0050) names an exam of
//      that facility that is not closed, or PatientID (+ PatientName) names a patient of the facility with an
//      open (requested) exam; Issuer of Patient ID (0010,0021) is the PatientID's assigning authority, mapped to
//      its URI as HL7 CX-4 is (exams/identity-systems.ts), none meaning the facility's own MRN;
//   c. nothing matches: a new exam for the patient in the tags (origin `images`), waiting for its order
//      (ExamService merges a late order into it). When PatientID has the form of an exam number that the
//      facility does not have (a typo), that new exam goes on the exception list with the reason.
// The method used is kept on the study (StudyRecord.matchedBy).
import type { ChangeSource } from '../exams/change.ts';
import { DuplicateError } from '../exams/errors.ts';
import type { Exam, ExamIdentifier } from '../exams/exam.ts';
import { examNumberPattern } from '../exams/exam-number.ts';
import type { Facility } from '../exams/facility.ts';
import { authoritySystem, studyPatientSystem } from '../exams/identity-systems.ts';
import { isClosed } from '../exams/lifecycle.ts';
import type { PatientInput, PersonName, Sex } from '../exams/patient.ts';
import type { ExamService } from '../exams/service.ts';
import { dicomUidSystem } from '../exams/identifier-systems.ts';
import type { MatchMethod, StudyIndex } from './study-index.ts';

export interface StudyTags {
  studyInstanceUid: string;
  patientId?: string;
  issuerOfPatientId?: string;
  patientName?: string;
  patientBirthDate?: string;
  patientSex?: string;
  accessionNumber?: string;
  modality?: string;
  studyDescription?: string;
  /** YYYY-MM-DD */
  studyDate?: string;
}

export interface StudyMatch {
  examNumber: string;
  method: MatchMethod;
  /** false when the study was already matched (nothing to attach). */
  firstMatch: boolean;
}

export async function matchStudy(
  exams: ExamService,
  index: StudyIndex,
  facility: Facility,
  tags: StudyTags,
  by: ChangeSource,
): Promise<StudyMatch> {
  const known = await knownExam(exams, index, facility, tags.studyInstanceUid);
  if (known) return known;
  const found =
    (await byExamNumber(exams, facility, tags)) ??
    (await byAccession(exams, facility, tags)) ??
    (await byPatient(exams, facility, tags));
  if (found) return { ...found, firstMatch: true };
  const exam = await newExamFromImages(exams, facility, tags, by, unknownExamNumber(tags));
  return { examNumber: exam.examNumber, method: 'new-exam', firstMatch: true };
}

async function knownExam(
  exams: ExamService,
  index: StudyIndex,
  facility: Facility,
  studyUid: string,
): Promise<StudyMatch | undefined> {
  const study = await index.study(studyUid);
  if (study?.examNumber)
    return { examNumber: study.examNumber, method: study.matchedBy ?? 'study-uid', firstMatch: false };
  // A study whose exam was attached but whose index entry was not updated (a crash in between) finds it here.
  const attached = await exams.findByStudyUid(studyUid);
  if (attached && attached.facility === facility.code)
    return { examNumber: attached.examNumber, method: 'study-uid', firstMatch: true };
  const ordered = await exams.findByIdentifier(facility.code, 'external', `urn:oid:${studyUid}`, dicomUidSystem);
  if (ordered && !isClosed(ordered.status))
    return { examNumber: ordered.examNumber, method: 'study-uid', firstMatch: true };
  return undefined;
}

/** (a) Only an exam of the calling facility: a number from elsewhere is a typo or a mix-up, not a match. */
async function byExamNumber(
  exams: ExamService,
  facility: Facility,
  tags: StudyTags,
): Promise<{ examNumber: string; method: MatchMethod } | undefined> {
  const id = tags.patientId?.trim();
  if (!id || !examNumberPattern.test(id)) return undefined;
  const exam = await exams.get(id);
  if (!exam || exam.facility !== facility.code) return undefined;
  return { examNumber: exam.examNumber, method: 'exam-number' };
}

/** The exception reason when (a) was meant but found nothing: the value is left out (it may be a patient id). */
function unknownExamNumber(tags: StudyTags): string | undefined {
  const id = tags.patientId?.trim();
  if (!id || !examNumberPattern.test(id)) return undefined;
  return 'PatientID has the form of an RSO exam number, but the facility has no exam with that number (a typo?)';
}

/** (b) An accession number is unique per facility: any exam that is not closed may get (another) study. */
async function byAccession(
  exams: ExamService,
  facility: Facility,
  tags: StudyTags,
): Promise<{ examNumber: string; method: MatchMethod } | undefined> {
  if (!tags.accessionNumber) return undefined;
  const exam = await exams.findByIdentifier(facility.code, 'accession', tags.accessionNumber);
  if (!exam || isClosed(exam.status)) return undefined;
  return { examNumber: exam.examNumber, method: 'accession' };
}

/** (b) The facility's patient by PatientID (issued by the facility), with a name that does not contradict. */
async function byPatient(
  exams: ExamService,
  facility: Facility,
  tags: StudyTags,
): Promise<{ examNumber: string; method: MatchMethod } | undefined> {
  if (!tags.patientId) return undefined;
  const holder = await exams.patients.findByIdentifier(
    authoritySystem(facility, tags.issuerOfPatientId),
    tags.patientId,
  );
  if (!holder) return undefined;
  const patient = await exams.patients.resolve(holder._id);
  const name = parsePersonName(tags.patientName);
  if (name?.family && patient.name.family && normalName(name.family) !== normalName(patient.name.family))
    return undefined;
  const open = await exams.findExams({
    patientIds: [patient._id],
    facilities: [facility.code],
    statuses: ['requested'],
    limit: 50,
  });
  const best = pickOpenExam(open.items, tags);
  return best ? { examNumber: best.examNumber, method: 'patient' } : undefined;
}

/** Same modality first, then the exam scheduled closest to the study date, then the oldest order. */
function pickOpenExam(candidates: readonly Exam[], tags: StudyTags): Exam | undefined {
  const studyTime = tags.studyDate ? Date.parse(`${tags.studyDate}T12:00:00Z`) : Date.now();
  const distance = (exam: Exam): number =>
    exam.scheduledAt ? Math.abs(Date.parse(exam.scheduledAt) - studyTime) : Number.MAX_SAFE_INTEGER;
  const modalityRank = (exam: Exam): number =>
    tags.modality && exam.modality === tags.modality ? 0 : exam.modality ? 2 : 1;
  return [...candidates].sort(
    (a, b) => modalityRank(a) - modalityRank(b) || distance(a) - distance(b) || a.createdAt.localeCompare(b.createdAt),
  )[0];
}

/**
 * (c) The patient as the tags describe them, the procedure from StudyDescription/Modality. The new exam carries
 * the Study Instance UID as an identifier under the exams' unique identifier index: two hub processes that get
 * the first instances of one new study at the same moment both try to create its exam, one insert wins, and the
 * other finds the winner's exam by that identifier (one exam per study, whichever process got there first).
 */
async function newExamFromImages(
  exams: ExamService,
  facility: Facility,
  tags: StudyTags,
  by: ChangeSource,
  exception?: string,
): Promise<Exam> {
  const patient = patientFromTags(facility, tags);
  const studyId: ExamIdentifier = {
    kind: 'external',
    system: dicomUidSystem,
    value: `urn:oid:${tags.studyInstanceUid}`,
  };
  const accession: ExamIdentifier[] = tags.accessionNumber ? [{ kind: 'accession', value: tags.accessionNumber }] : [];
  const order = {
    facility: facility.code,
    patient,
    procedure: {
      code: tags.studyDescription ?? tags.modality ?? 'unknown',
      ...(tags.studyDescription ? { text: tags.studyDescription } : {}),
    },
    ...(tags.modality ? { modality: tags.modality } : {}),
    origin: 'images' as const,
    ...(exception === undefined ? {} : { exception }),
  };
  const created = await createOrFind(exams, facility, studyId, () =>
    exams.createOrder({ ...order, identifiers: [studyId, ...accession] }, by),
  );
  if (created) return created;
  // The accession belongs to a closed exam of the facility: the new exam goes without it rather than not at all.
  const without = await createOrFind(exams, facility, studyId, () =>
    exams.createOrder({ ...order, identifiers: [studyId] }, by),
  );
  if (without) return without;
  throw new Error(`study ${tags.studyInstanceUid}: its exam could neither be created nor found`);
}

/** The created exam, or the exam another process created for the study first, or undefined (another clash). */
async function createOrFind(
  exams: ExamService,
  facility: Facility,
  studyId: ExamIdentifier,
  create: () => Promise<Exam>,
): Promise<Exam | undefined> {
  try {
    return await create();
  } catch (error) {
    if (!(error instanceof DuplicateError)) throw error;
    return exams.findByIdentifier(facility.code, 'external', studyId.value, dicomUidSystem);
  }
}

export function patientFromTags(facility: Facility, tags: StudyTags): PatientInput {
  // Without a PatientID the study itself is the only key: one unknown patient per study, never a shared one.
  const identifier = tags.patientId
    ? { system: authoritySystem(facility, tags.issuerOfPatientId), value: tags.patientId, facility: facility.code }
    : { system: studyPatientSystem(facility), value: tags.studyInstanceUid, facility: facility.code };
  const input: PatientInput = { identifiers: [identifier] };
  const name = parsePersonName(tags.patientName);
  if (name) input.name = name;
  const birthDate = dicomDate(tags.patientBirthDate);
  if (birthDate) input.birthDate = birthDate;
  const sex = sexOf(tags.patientSex);
  if (sex) input.sex = sex;
  return input;
}

/** PS3.5 6.2 PN: component groups split by "=" (alphabetic first), components by "^": family^given^middle^prefix^suffix. */
export function parsePersonName(value: string | undefined): PersonName | undefined {
  const alphabetic = value?.split('=')[0]?.trim();
  if (!alphabetic) return undefined;
  const [family, given, middle] = alphabetic.split('^').map((part) => part.trim());
  const name: PersonName = {
    given: [given, middle].filter((part): part is string => part !== undefined && part !== ''),
  };
  if (family) name.family = family;
  return name.family === undefined && name.given.length === 0 ? undefined : name;
}

/** DA (PS3.5 6.2): YYYYMMDD -> YYYY-MM-DD; anything else is dropped rather than guessed. */
export function dicomDate(value: string | undefined): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value?.trim() ?? '');
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

function sexOf(value: string | undefined): Sex | undefined {
  switch (value?.trim().toUpperCase()) {
    case 'M':
      return 'male';
    case 'F':
      return 'female';
    case 'O':
      return 'other';
    default:
      return undefined;
  }
}

function normalName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[^\p{L}]/gu, '')
    .toLowerCase();
}
