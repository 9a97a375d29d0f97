// The ImagingStudy endpoints: read and search, views of the study index (dicom/study-index.ts). Studies are
// written by DICOM (C-STORE, STOW-RS), never through FHIR.
import type { Bundle, ImagingStudy } from '@medplum/fhirtypes';
import type { StudyReader, StudyRecord } from '../exams/study-records.ts';
import type { ExamService } from '../exams/service.ts';
import { dicomUidSystem, toImagingStudy } from './imaging-study-mapping.ts';
import { fhirError } from './outcome.ts';
import { canSeeFacility, facilityLimit, searchReferenceId, type FhirContext } from './request-context.ts';
import { parseCount, parseDate, parseOffset, parseToken, searchset, values } from './search.ts';

export class ImagingStudyResource {
  readonly #exams: ExamService;
  readonly #index: StudyReader;

  constructor(exams: ExamService, index: StudyReader) {
    this.#exams = exams;
    this.#index = index;
  }

  async read(id: string, context: FhirContext): Promise<{ resource: ImagingStudy; version: number }> {
    const study = await this.#index.study(id);
    if (!study?.examNumber || !canSeeFacility(context, study.facility))
      throw fhirError(404, 'not-found', `ImagingStudy/${id} is not known`);
    const resource = await this.render(study);
    if (!resource) throw fhirError(404, 'not-found', `ImagingStudy/${id} is not known`);
    return { resource, version: study.instanceCount };
  }

  async render(study: StudyRecord): Promise<ImagingStudy | undefined> {
    if (!study.examNumber) return undefined;
    const exam = await this.#exams.get(study.examNumber);
    if (!exam) return undefined;
    return toImagingStudy(study, exam.patientId, await this.#index.instancesOf(study._id));
  }

  async search(params: URLSearchParams, context: FhirContext): Promise<Bundle> {
    const count = parseCount(params.get('_count'));
    const offset = parseOffset(params.get('_offset'));
    const filter = await this.#filter(params, context);
    const total = await this.#index.studies.countDocuments(filter);
    const studies =
      count === 0
        ? []
        : await this.#index.studies
            .find(filter)
            .sort({ firstReceivedAt: -1, _id: 1 })
            .skip(offset)
            .limit(count)
            .toArray();
    const resources: ImagingStudy[] = [];
    for (const study of studies) {
      const resource = await this.render(study);
      if (resource) resources.push(resource);
    }
    return searchset(resources, { base: context.base, type: 'ImagingStudy', params, total, offset, count });
  }

  async #filter(params: URLSearchParams, context: FhirContext): Promise<Record<string, unknown>> {
    const and: Array<Record<string, unknown>> = [{ examNumber: { $exists: true } }];
    const limit = facilityLimit(context);
    if (limit) and.push({ facility: { $in: [...limit] } });
    for (const ids of values(params, '_id')) and.push({ _id: { $in: ids } });
    for (const name of ['patient', 'subject'] as const) {
      for (const refs of values(params, name)) {
        const patientIds = refs.map((ref) => searchReferenceId(ref, 'Patient', context, name));
        and.push({ examNumber: { $in: await this.#examsOfPatients(patientIds) } });
      }
    }
    for (const refs of values(params, 'based-on')) {
      const examNumbers = refs.map((ref) => searchReferenceId(ref, 'ServiceRequest', context, 'based-on'));
      and.push({ examNumber: { $in: examNumbers } });
    }
    for (const tokens of values(params, 'identifier')) and.push({ $or: tokens.map(identifierFilter) });
    for (const raw of params.getAll('started')) {
      const range = parseDate(raw, 'started');
      const dates: Record<string, string> = {};
      if (range.from !== undefined) dates['$gte'] = range.from.slice(0, 10);
      if (range.before !== undefined) dates['$lt'] = range.before.slice(0, 10);
      and.push({ studyDate: dates });
    }
    return { $and: and };
  }

  async #examsOfPatients(patientIds: string[]): Promise<string[]> {
    const page = await this.#exams.findExams({ patientIds, limit: 10_000 });
    return page.items.map((exam) => exam.examNumber);
  }
}

/** urn:dicom:uid|urn:oid:<uid> finds the study; an accession (ACSN type, or any other system) by value; bare values both. */
function identifierFilter(raw: string): Record<string, unknown> {
  const token = parseToken(raw);
  const uid = token.value.replace(/^urn:oid:/, '');
  if (token.system === dicomUidSystem) return { _id: uid };
  if (token.system !== undefined) return { accessionNumber: token.value };
  return { $or: [{ _id: uid }, { accessionNumber: token.value }] };
}
