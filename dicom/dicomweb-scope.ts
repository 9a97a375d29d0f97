// What one DICOMweb request may see: the user's facilities narrow every search and every read, and a study of
// another facility is answered exactly as an unknown one (404).
import type { Context } from 'koa';
import type { ApiUser } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { InstanceRecord, StudyRecord } from '../exams/study-records.ts';
import type { StudyIndex } from './study-index.ts';

/** What a request may see, and where its answers point (RetrieveURL, BulkDataURI). */
export interface DicomwebScope {
  index: StudyIndex;
  user: ApiUser;
  /** Absolute URL of /dicomweb as the client reached it. */
  base: string;
}

/** The facilities filter of a search: none for RSO staff, the token's facilities otherwise. */
export function facilityFilter(user: ApiUser): Record<string, unknown> {
  return user.facilities === undefined ? {} : { facility: { $in: [...user.facilities] } };
}

/** The study, if it exists and the user may see it; 404 otherwise. */
export async function visibleStudy(scope: DicomwebScope, uid: string | undefined): Promise<StudyRecord> {
  const study = uid !== undefined && /^[0-9.]{1,64}$/.test(uid) ? await scope.index.study(uid) : undefined;
  const facilities = scope.user.facilities;
  if (study === undefined || (facilities !== undefined && !facilities.includes(study.facility)))
    throw new HttpError(404, `study ${uid}: not found`);
  return study;
}

/** Instances of the study the route names, narrowed to its series and instance when it names them. */
export async function routeInstances(ctx: Context, scope: DicomwebScope): Promise<InstanceRecord[]> {
  const { study, series, instance } = ctx.params as Record<string, string | undefined>;
  const found = await visibleStudy(scope, study);
  const all = await scope.index.instancesOf(found._id);
  const chosen = all.filter(
    (record) =>
      (series === undefined || record.seriesInstanceUid === series) &&
      (instance === undefined || record._id === instance),
  );
  if (chosen.length === 0)
    throw new HttpError(
      404,
      instance !== undefined ? `instance ${instance}: not found` : `series ${series}: not found`,
    );
  return chosen;
}
