// What one DICOMweb request may see: the reader's facilities narrow every search and every read, a consultant
// link narrows them further to its exam's studies, and a study outside the scope is answered exactly as an
// unknown one (404), so a UID reveals nothing.
import type { Context } from 'koa';
import type { ApiUser } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { InstanceRecord, StudyRecord } from '../exams/study-records.ts';
import type { InstanceCache } from './instance-cache.ts';
import type { StudyIndex } from './study-index.ts';

/** Who reads, as the router's access function established it. */
export interface DicomwebReader {
  user: ApiUser;
  /** Study Instance UIDs this reader is limited to (a consultant link's exam); undefined means every study in scope. */
  studies?: ReadonlySet<string>;
}

/** What a request may see, and where its answers point (RetrieveURL, BulkDataURI). */
export interface DicomwebScope extends DicomwebReader {
  index: StudyIndex;
  /** Absolute URL of the DICOMweb root as the client reached it. */
  base: string;
  /** Small instances retrieved lately, shared by every DICOMweb root of the process. */
  cache?: InstanceCache | undefined;
}

/** The store filter of a study search: the reader's facilities and studies, nothing for RSO staff. */
export function scopeFilter(reader: DicomwebReader): Record<string, unknown> {
  const facilities = reader.user.facilities;
  return {
    ...(facilities === undefined ? {} : { facility: { $in: [...facilities] } }),
    ...(reader.studies === undefined ? {} : { _id: { $in: [...reader.studies] } }),
  };
}

/** The study, if it exists and the reader may see it; 404 otherwise. */
export async function visibleStudy(scope: DicomwebScope, uid: string | undefined): Promise<StudyRecord> {
  const allowed = uid !== undefined && /^[0-9.]{1,64}$/.test(uid) && (scope.studies?.has(uid) ?? true);
  const study = allowed ? await scope.index.study(uid) : undefined;
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
