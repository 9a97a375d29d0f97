// Study Root C-FIND at the study level (PS3.4 C.6.2.1): a facility's PACS or workstation (by calling AE) finds the
// studies the hub holds for that facility, as QIDO-RS finds them: the identifier's matching keys become the same
// conditions on the study index (dicom/qido-query.ts), so both ways search alike. Series and image levels are not
// offered (0xA900 names the level); keys the index cannot match on are return keys, answered empty if unknown.
import type { FacilityRegistry } from '../exams/facility.ts';
import type { StudyRecord } from '../exams/study-records.ts';
import { HttpError } from '../http/http-error.ts';
import { type Dataset, textOf, vrOf } from './dataset-codec.ts';
import { project } from './find-answer.ts';
import { parseQidoQuery, storeFilter } from './qido-query.ts';
import { ServiceRefusal } from './scp-exchange.ts';
import { type FindRequest, type FindService, findStatus } from './scp-find.ts';
import type { StudyIndex } from './study-index.ts';

/** The study-level keys the index matches on (the QIDO-RS study keys). */
const matchingTags = ['0020000D', '00100020', '00100010', '00080020', '00080050', '00080061', '00081030', '00200010'];
const pageSize = 200;

export function studyFindService(index: StudyIndex, facilities: FacilityRegistry, aeTitle: string): FindService {
  return async function* studyFind(request: FindRequest): AsyncGenerator<Dataset> {
    const level = textOf(request.identifier, '00080052');
    if (level !== 'STUDY')
      throw new ServiceRefusal(
        findStatus.badIdentifier,
        `(0008,0052) level ${level ?? 'missing'}: only STUDY is offered`,
      );
    const facility = await facilities.findByAeTitle(request.callingAe);
    if (!facility) throw new ServiceRefusal(findStatus.failed, 'the calling AE belongs to no active facility');
    const filter = { ...conditionsOf(request.identifier), facility: facility.code };
    for (let skip = 0; !request.cancelled(); skip += pageSize) {
      const page = await index.studies
        .find(filter as never)
        .sort({ studyDate: -1, _id: 1 })
        .skip(skip)
        .limit(pageSize)
        .toArray();
      for (const study of page) yield project(request.identifier, studyDataset(study, aeTitle));
      if (page.length < pageSize) return;
    }
  };
}

function conditionsOf(identifier: Dataset): Record<string, unknown> {
  const params = new URLSearchParams();
  for (const tag of matchingTags) {
    const value = textOf(identifier, tag);
    if (value) params.append(tag, value);
  }
  try {
    return storeFilter(parseQidoQuery(params, 'study').conditions);
  } catch (error) {
    if (error instanceof HttpError) throw new ServiceRefusal(findStatus.badIdentifier, error.message);
    throw error;
  }
}

function studyDataset(study: StudyRecord, aeTitle: string): Dataset {
  const dataset: Dataset = new Map();
  const set = (tag: string, value: string | number | undefined) =>
    dataset.set(tag, { vr: vrOf(tag), value: value === undefined ? '' : String(value) });
  set('00080020', study.studyDate?.replace(/-/g, ''));
  set('00080030', study.studyTime);
  set('00080050', study.accessionNumber);
  set('00080052', 'STUDY');
  set('00080054', aeTitle);
  set('00080056', 'ONLINE');
  // Multiple values of a text VR are separated by a backslash (PS3.5 6.4).
  set('00080061', study.modalities.join('\\'));
  set('00080090', undefined);
  set('00081030', study.studyDescription);
  set('00100010', study.patientName);
  set('00100020', study.dicomPatientId);
  set('00100030', study.patientBirthDate);
  set('00100040', study.patientSex);
  set('0020000D', study._id);
  set('00200010', study.studyId);
  set('00201206', study.seriesUids.length);
  set('00201208', study.instanceCount);
  return dataset;
}
