// HTTP upload of studies: STOW-RS (PS3.18 10.5, Store Instances) at POST /dicomweb/studies with
// `multipart/related; type="application/dicom"`, and, for simple clients, one Part-10 file as
// `application/dicom`. Each file is streamed to a temp file beside the study store (same file system, so the
// move into it is a rename), checked as a Part-10 instance (dicom/part10-file.ts) and then goes through the
// same ingest path as a C-STORE (dicom/ingest.ts). Nothing is kept of a file that fails.
//
// Response (PS3.18 10.5.3): application/dicom+json with ReferencedSOPSequence (0008,1199) for stored instances
// and FailedSOPSequence (0008,1198) with FailureReason (0008,1197) for the others; 200 all stored, 202 some
// failed, 409 none stored, 400 a body that is not well-formed multipart, 415 a media type other than
// application/dicom. The reason text of each failure goes in a Warning header (RFC 7234 5.5, code 299), since
// the response data set has no attribute for it.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { AuthState, Role } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { Facility } from '../exams/facility.ts';
import type { ExamService } from '../exams/service.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import type { IngestInstance, StudyIngest } from './ingest.ts';
import {
  boundaryOf,
  maxBoundaryLength,
  MultipartError,
  parameterOf,
  readMultipart,
  type ReceivedPart,
} from './multipart-related.ts';
import { describePart10File, failureReason, InstanceRefusal } from './part10-file.ts';

export interface StowOptions {
  ingest: StudyIngest;
  exams: ExamService;
  /** Koa middleware that authenticates (http/auth.ts requireAuth). */
  auth: (ctx: Context, next: () => Promise<void>) => Promise<void>;
  storageDir: string;
  log: Logger;
  maxBodyBytes?: number;
}

/** Roles that may send images: the facility's people and integrations, and RSO admins. */
const uploaders: readonly Role[] = ['admin', 'integration', 'client-admin', 'customer', 'technician'];
const dicomJson = 'application/dicom+json';

interface Stored {
  sopClassUid: string;
  sopInstanceUid: string;
}

interface Failed {
  sopClassUid?: string;
  sopInstanceUid?: string;
  reason: number;
  text: string;
}

export function createStowRouter(options: StowOptions): Router {
  const router = new Router();
  // Errors (HttpError) are answered as RFC 9457 problems by the server's error middleware (http/problem.ts).
  router.post('/dicomweb/studies', options.auth, (ctx) => store(ctx, options));
  return router;
}

async function store(ctx: Context, options: StowOptions): Promise<void> {
  const user = (ctx.state as AuthState).user;
  if (!user.roles.some((role) => uploaders.includes(role)))
    throw new HttpError(403, `uploading images needs one of the roles: ${uploaders.join(', ')}`);
  const contentType = ctx.get('content-type');
  const kind = mediaKind(contentType);
  const facility = await facilityFor(ctx, options.exams);
  const dir = path.join(options.storageDir, '.stow', randomUUID());
  await mkdir(dir, { recursive: true });
  try {
    const parts = await receive(ctx, kind, contentType, dir, options.maxBodyBytes ?? 4 * 1024 * 1024 * 1024);
    if (parts.length === 0) throw new HttpError(400, 'the multipart body has no parts');
    const stored: Stored[] = [];
    const failed: Failed[] = [];
    for (const [i, part] of parts.entries()) {
      const outcome = await storePart(part, `part ${i + 1}`, facility, user.name, options);
      if ('reason' in outcome) failed.push(outcome);
      else stored.push(outcome);
    }
    respond(ctx, stored, failed);
    options.log.info('STOW-RS upload', {
      facility: facility.code,
      user: user.name,
      stored: stored.length,
      failed: failed.length,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type MediaKind = 'multipart' | 'single';

function mediaKind(contentType: string): MediaKind {
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (media === 'application/dicom') return 'single';
  if (media !== 'multipart/related')
    throw new HttpError(
      415,
      `Content-Type must be multipart/related; type="application/dicom" or application/dicom, got "${contentType || 'none'}"`,
    );
  const type = parameterOf(contentType, 'type')?.toLowerCase();
  // PS3.18 10.5.1: the metadata+bulkdata forms (application/dicom+json, +xml) are not supported here.
  if (type !== 'application/dicom')
    throw new HttpError(415, `multipart/related type must be "application/dicom", got "${type ?? 'none'}"`);
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new HttpError(400, 'multipart/related without a boundary parameter');
  if (boundary.length > maxBoundaryLength) {
    const text = `the multipart boundary is ${boundary.length} characters long; at most ${maxBoundaryLength} are accepted`;
    throw new HttpError(400, text);
  }
  return 'multipart';
}

/** A facility-limited token uploads for its facility; staff name it with ?facility=. */
async function facilityFor(ctx: Context, exams: ExamService): Promise<Facility> {
  const user = (ctx.state as AuthState).user;
  const asked = typeof ctx.query['facility'] === 'string' ? ctx.query['facility'] : undefined;
  let code: string | undefined;
  if (user.facilities !== undefined) {
    if (asked !== undefined && !user.facilities.includes(asked))
      throw new HttpError(403, `facility: you may not upload for ${asked}`);
    code = asked ?? (user.facilities.length === 1 ? user.facilities[0] : undefined);
    if (code === undefined)
      throw new HttpError(
        400,
        `facility: this token serves several facilities; name one (?facility=${user.facilities.join('|')})`,
      );
  } else {
    code = asked;
    if (code === undefined)
      throw new HttpError(400, 'facility: the query parameter is required for a token not limited to a facility');
  }
  const facility = await exams.facilities.get(code);
  if (!facility?.active) throw new HttpError(400, `facility: "${code}" is not an active facility`);
  return facility;
}

async function receive(
  ctx: Context,
  kind: MediaKind,
  contentType: string,
  dir: string,
  maxBytes: number,
): Promise<ReceivedPart[]> {
  const declared = Number(ctx.get('content-length') || NaN);
  if (declared > maxBytes) throw new HttpError(413, `the body is larger than ${maxBytes} bytes`);
  if (kind === 'multipart') {
    try {
      return await readMultipart(ctx.req, boundaryOf(contentType)!, dir, { maxTotalBytes: maxBytes });
    } catch (error) {
      if (error instanceof MultipartError) throw new HttpError(400, `multipart body: ${error.message}`);
      throw error;
    }
  }
  const filePath = path.join(dir, 'part-0.bin');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) done(new HttpError(413, `the body is larger than ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
  // flush: fsynced before close, so an instance answered as stored survives a power cut.
  await pipeline(ctx.req, counter, createWriteStream(filePath, { flush: true }));
  return [{ headers: new Map([['content-type', 'application/dicom']]), filePath, size }];
}

async function storePart(
  part: ReceivedPart,
  what: string,
  facility: Facility,
  userName: string,
  options: StowOptions,
): Promise<Stored | Failed> {
  const type = part.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== undefined && type !== 'application/dicom') {
    return { reason: failureReason.cannotUnderstand, text: `${what}: Content-Type ${type} is not application/dicom` };
  }
  let instance: IngestInstance;
  try {
    instance = await describePart10File(part.filePath, what);
  } catch (error) {
    if (!(error instanceof InstanceRefusal)) throw error;
    return withUids({ reason: error.reason, text: error.message }, error);
  }
  const uids = { sopClassUid: instance.sopClassUid, sopInstanceUid: instance.sopInstanceUid };
  try {
    await options.ingest.ingest(instance, { facility, source: `http:${userName}`, via: 'dicomweb' });
    return uids;
  } catch (error) {
    // Domain errors name values (accession numbers, patient ids): the text goes to debug only.
    options.log.warn('STOW-RS instance not recorded', { sopInstanceUid: instance.sopInstanceUid });
    options.log.debug(
      'STOW-RS instance not recorded',
      { sopInstanceUid: instance.sopInstanceUid },
      { error: errorText(error) },
    );
    return {
      ...uids,
      reason: failureReason.outOfResources,
      text: `${what}: cannot record the instance: ${errorText(error)}`,
    };
  }
}

function withUids(failed: Failed, refusal: InstanceRefusal): Failed {
  if (refusal.sopClassUid !== undefined) failed.sopClassUid = refusal.sopClassUid;
  if (refusal.sopInstanceUid !== undefined) failed.sopInstanceUid = refusal.sopInstanceUid;
  return failed;
}

function respond(ctx: Context, stored: Stored[], failed: Failed[]): void {
  const body: Record<string, unknown> = {};
  if (failed.length > 0) body['00081198'] = { vr: 'SQ', Value: failed.map(failedItem) };
  if (stored.length > 0)
    body['00081199'] = {
      vr: 'SQ',
      Value: stored.map((s) => ({ '00081150': ui(s.sopClassUid), '00081155': ui(s.sopInstanceUid) })),
    };
  for (const failure of failed.slice(0, 20))
    ctx.append('Warning', `299 rso-hub "${failure.text.replace(/["\\\r\n]/g, ' ')}"`);
  ctx.status = failed.length === 0 ? 200 : stored.length === 0 ? 409 : 202;
  ctx.type = dicomJson;
  ctx.body = JSON.stringify(body);
}

function failedItem(failure: Failed): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  if (failure.sopClassUid) item['00081150'] = ui(failure.sopClassUid);
  if (failure.sopInstanceUid) item['00081155'] = ui(failure.sopInstanceUid);
  item['00081197'] = { vr: 'US', Value: [failure.reason] };
  return item;
}

function ui(value: string): { vr: 'UI'; Value: string[] } {
  return { vr: 'UI', Value: [value] };
}
