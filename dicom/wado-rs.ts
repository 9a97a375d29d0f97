// WADO-RS (PS3.18 10.4): instances, metadata, frames and rendered images of the stored studies. Instances go out
// as the files were stored, streamed one after the other (dicom/multipart-writer.ts); each part names its own
// transfer syntax, since the hub keeps what the modality sent and does not transcode (a client that asks for one
// transfer syntax only, other than the stored one, gets 406). Metadata is streamed as a JSON array, one instance
// header read at a time, so neither answer holds more than one instance in memory.
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import { HttpError } from '../http/http-error.ts';
import type { InstanceRecord } from '../exams/study-records.ts';
import { instanceUrl, metadataJson } from './dicom-json.ts';
import { type DicomwebScope, routeInstances } from './dicomweb-scope.ts';
import { instanceCacheKey } from './instance-cache.ts';
import { type OutgoingPart, sendMultipart } from './multipart-writer.ts';
import { numberOf, readHeader, readWhole } from './stored-instance.ts';
import { framesOf, parseFrameList } from './wado-frames.ts';
import { renderedType, renderFrame, type RenderOptions } from './wado-rendered.ts';

export async function retrieve(ctx: Context, scope: DicomwebScope): Promise<void> {
  const instances = await routeInstances(ctx, scope);
  const wanted = askedTransferSyntax(ctx.get('accept'));
  if (wanted !== undefined) {
    const other = instances.find((instance) => instance.transferSyntaxUid !== wanted);
    if (other !== undefined)
      throw new HttpError(
        406,
        `instance ${other._id} is stored as ${other.transferSyntaxUid}; the hub does not transcode (ask transfer-syntax=*)`,
      );
  }
  await sendMultipart(
    ctx,
    'application/dicom',
    instances.map(
      (instance): OutgoingPart => ({
        contentType: `application/dicom; transfer-syntax=${instance.transferSyntaxUid}`,
        filePath: instance.filePath,
        sizeHint: instance.sizeBytes,
        location: instanceUrl(instance, scope.base),
        cacheKey: instanceCacheKey(instance),
      }),
    ),
    { cache: scope.cache },
  );
}

/**
 * The one transfer syntax an Accept header insists on, if any: `multipart/related; type="application/dicom";
 * transfer-syntax=X`. No parameter or `*` takes what is stored (PS3.18 8.7.3.5.2); so does a header that lists
 * several choices, since the stored one is then usually among the acceptable.
 */
function askedTransferSyntax(accept: string): string | undefined {
  const choices = accept.split(',').filter((choice) => choice.trim() !== '');
  if (choices.length !== 1) return undefined;
  const match = /transfer-syntax\s*=\s*"?([0-9.*]+)"?/i.exec(choices[0] ?? '');
  const syntax = match?.[1];
  return syntax === undefined || syntax === '*' ? undefined : syntax;
}

export async function retrieveMetadata(ctx: Context, scope: DicomwebScope): Promise<void> {
  const instances = await routeInstances(ctx, scope);
  ctx.status = 200;
  ctx.type = 'application/dicom+json';
  ctx.body = Readable.from(metadataArray(instances, scope.base));
}

async function* metadataArray(instances: readonly InstanceRecord[], base: string): AsyncGenerator<string> {
  yield '[';
  for (const [i, instance] of instances.entries()) {
    const { dict } = await readHeader(instance.filePath);
    const frames = numberOf(dict, '00280008') ?? 1;
    yield `${i === 0 ? '' : ','}${JSON.stringify(metadataJson(dict, instanceUrl(instance, base), frames))}`;
  }
  yield ']';
}

export async function retrieveFrames(ctx: Context, scope: DicomwebScope): Promise<void> {
  const numbers = parseFrameList(String(ctx.params['frames']));
  const [instance] = await routeInstances(ctx, scope);
  const frames = framesOf(await readWhole(instance!.filePath), numbers);
  await sendMultipart(
    ctx,
    frames.mediaType,
    frames.frames.map((bytes) => ({ contentType: frames.partType, bytes })),
  );
}

/** `rendered` and `thumbnail`: the route's first instance (of the study or series for a thumbnail), one frame. */
export async function retrieveRendered(ctx: Context, scope: DicomwebScope): Promise<void> {
  const thumbnail = ctx.path.endsWith('/thumbnail');
  const options = renderOptions(ctx, thumbnail);
  const [instance] = await routeInstances(ctx, scope);
  const image = await renderFrame(instance!.filePath, options);
  ctx.status = 200;
  ctx.type = options.type;
  ctx.body = image;
}

const renderParameters = new Set(['quality', 'viewport', 'accept', 'window']);

function renderOptions(ctx: Context, thumbnail: boolean): RenderOptions {
  const params = new URLSearchParams(ctx.querystring);
  for (const key of params.keys())
    if (!renderParameters.has(key)) throw new HttpError(400, `${key}: not a rendering parameter the hub supports`);
  const frames = ctx.params['frames'] === undefined ? [1] : parseFrameList(String(ctx.params['frames']));
  const options: RenderOptions = {
    frame: frames[0] ?? 1,
    type: renderedType(ctx.get('accept') || undefined, params.get('accept') ?? undefined),
    quality: thumbnail ? 75 : 90,
  };
  const quality = params.get('quality');
  if (quality !== null) {
    if (!/^\d{1,3}$/.test(quality) || Number(quality) < 1 || Number(quality) > 100)
      throw new HttpError(400, `quality: "${quality}" is not a number from 1 to 100`);
    options.quality = Number(quality);
  }
  const viewport = params.get('viewport');
  if (viewport !== null) {
    const match = /^(\d{1,5}),(\d{1,5})$/.exec(viewport);
    if (!match || Number(match[1]) === 0 || Number(match[2]) === 0)
      throw new HttpError(400, `viewport: "${viewport}" is not width,height in pixels`);
    options.viewport = { width: Number(match[1]), height: Number(match[2]) };
  } else if (thumbnail) {
    options.viewport = { width: 128, height: 128 };
  }
  const window = params.get('window');
  if (window !== null) options.window = windowOf(window);
  return options;
}

/** `center,width,function`; the hub renders the linear function only, which is what viewers ask for. */
function windowOf(value: string): { center: number; width: number } {
  const [center, width, shape, ...rest] = value.split(',');
  const number = /^-?\d{1,6}(\.\d{1,4})?$/;
  if (rest.length > 0 || !number.test(center ?? '') || !number.test(width ?? '') || Number(width) < 1)
    throw new HttpError(400, `window: "${value}" is not center,width,function with a width of at least 1`);
  if (shape !== undefined && shape.toLowerCase() !== 'linear')
    throw new HttpError(400, `window: the function "${shape}" is not supported (linear only)`);
  return { center: Number(center), width: Number(width) };
}
