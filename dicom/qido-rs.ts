// QIDO-RS (PS3.18 10.6): studies are searched in the study index itself (the query becomes a store filter, so
// 10,000 studies cost an indexed query, not a scan of files); series and instances of one study are read from its
// instance records and matched in memory. Results are application/dicom+json arrays (dicom/dicom-json.ts).
import type { Context } from 'koa';
import { instanceJson, type JsonDataset, seriesJson, studyJson, summariseSeries } from './dicom-json.ts';
import { type DicomwebScope, scopeFilter, visibleStudy } from './dicomweb-scope.ts';
import { matches, parseQidoQuery, storeFilter } from './qido-query.ts';

const dicomJson = 'application/dicom+json';

export async function searchStudies(ctx: Context, scope: DicomwebScope): Promise<void> {
  const query = parseQidoQuery(new URLSearchParams(ctx.querystring), 'study');
  const asked = storeFilter(query.conditions);
  const limits = scopeFilter(scope);
  // A StudyInstanceUID match and a consultant's studies both constrain _id: both must hold.
  const filter = '_id' in asked && '_id' in limits ? { $and: [asked, limits] } : { ...asked, ...limits };
  const found = await scope.index.studies
    .find(filter as never)
    .sort({ studyDate: -1, _id: 1 })
    .skip(query.offset)
    .limit(query.limit)
    .toArray();
  answer(
    ctx,
    found.map((study) => studyJson(study, scope.base)),
  );
}

export async function searchSeries(ctx: Context, scope: DicomwebScope): Promise<void> {
  const query = parseQidoQuery(new URLSearchParams(ctx.querystring), 'series');
  const study = await visibleStudy(scope, ctx.params['study']);
  const series = summariseSeries(await scope.index.instancesOf(study._id)).filter((summary) =>
    matches({ ...summary }, query.conditions),
  );
  answer(
    ctx,
    series.slice(query.offset, query.offset + query.limit).map((summary) => seriesJson(study, summary, scope.base)),
  );
}

export async function searchInstances(ctx: Context, scope: DicomwebScope): Promise<void> {
  const query = parseQidoQuery(new URLSearchParams(ctx.querystring), 'instance');
  const study = await visibleStudy(scope, ctx.params['study']);
  const series = ctx.params['series'];
  const instances = (await scope.index.instancesOf(study._id)).filter(
    (instance) =>
      (series === undefined || instance.seriesInstanceUid === series) && matches({ ...instance }, query.conditions),
  );
  answer(
    ctx,
    instances
      .slice(query.offset, query.offset + query.limit)
      .map((instance) => instanceJson(study, instance, scope.base)),
  );
}

function answer(ctx: Context, results: JsonDataset[]): void {
  ctx.status = 200;
  ctx.type = dicomJson;
  ctx.body = JSON.stringify(results);
}
