// Checks a Part-10 file that arrived by HTTP (STOW-RS) as thoroughly as the SCP checks a C-STORE data set: the
// meta header (PS3.10 7.1), a transfer syntax and SOP class the hub stores, a data set that is complete (the
// walker proves every element, item and sequence is closed) and whose SOP Class/Instance UID agree with the
// meta header. The file is streamed through the walker, never read whole.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import { DatasetWalker, headerText, optionalHeaderKeys, type HeaderKey } from './dataset-walker.ts';
import type { IngestInstance } from './ingest.ts';
import { type FileMeta, parseFileMeta, transferSyntax } from './part10.ts';
import { acceptedTransferSyntaxes, isStorageSopClass } from './sop-classes.ts';

/** PS3.18 10.5.3 Failure Reason (0008,1197) values, the C-STORE statuses of PS3.4 B.2.3 plus two of PS3.7. */
export const failureReason = {
  processingFailure: 0x0110,
  sopClassNotSupported: 0x0122,
  outOfResources: 0xa700,
  doesNotMatchSopClass: 0xa900,
  cannotUnderstand: 0xc000,
  transferSyntaxNotSupported: 0xc122,
} as const;

export class InstanceRefusal extends Error {
  readonly reason: number;
  readonly sopClassUid: string | undefined;
  readonly sopInstanceUid: string | undefined;

  constructor(reason: number, message: string, uids: { sopClassUid?: string; sopInstanceUid?: string } = {}) {
    super(message);
    this.reason = reason;
    this.sopClassUid = uids.sopClassUid;
    this.sopInstanceUid = uids.sopInstanceUid;
  }
}

const metaReadLength = 16 * 1024;
const uidPattern = /^[0-9]+(\.[0-9]+)*$/;

/** The instance the file holds; throws InstanceRefusal with the failure reason otherwise. */
export async function describePart10File(filePath: string, what: string): Promise<IngestInstance> {
  const handle = await open(filePath, 'r');
  let head: Buffer;
  let size: number;
  try {
    size = (await handle.stat()).size;
    head = Buffer.alloc(Math.min(metaReadLength, size));
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  let meta: FileMeta;
  try {
    meta = parseFileMeta(head, what);
  } catch (error) {
    throw new InstanceRefusal(failureReason.cannotUnderstand, error instanceof Error ? error.message : String(error));
  }
  const uids = { sopClassUid: meta.sopClassUid, sopInstanceUid: meta.sopInstanceUid };
  if (!acceptedTransferSyntaxes.has(meta.transferSyntaxUid)) {
    throw new InstanceRefusal(
      failureReason.transferSyntaxNotSupported,
      `${what}: transfer syntax ${meta.transferSyntaxUid} is not stored by this hub`,
      uids,
    );
  }
  if (!isStorageSopClass(meta.sopClassUid))
    throw new InstanceRefusal(
      failureReason.sopClassNotSupported,
      `${what}: ${meta.sopClassUid} is not a storage SOP class`,
      uids,
    );
  const values = await walk(filePath, meta.datasetOffset, meta.transferSyntaxUid, what, uids);
  const text = (key: HeaderKey) => headerText(values, key);
  if (text('sopInstanceUid') === undefined || text('sopClassUid') === undefined) {
    throw new InstanceRefusal(
      failureReason.cannotUnderstand,
      `${what}: the data set has no (0008,0016)/(0008,0018)`,
      uids,
    );
  }
  if (text('sopInstanceUid') !== meta.sopInstanceUid || text('sopClassUid') !== meta.sopClassUid) {
    throw new InstanceRefusal(
      failureReason.doesNotMatchSopClass,
      `${what}: (0008,0016)/(0008,0018) differ from the file meta header`,
      uids,
    );
  }
  if (!uidPattern.test(meta.sopInstanceUid) || meta.sopInstanceUid.length > 64)
    throw new InstanceRefusal(failureReason.cannotUnderstand, `${what}: (0008,0018) is not a valid UID`, uids);
  const required = (key: HeaderKey, name: string): string => {
    const value = text(key);
    if (value === undefined || !uidPattern.test(value) || value.length > 64)
      throw new InstanceRefusal(failureReason.cannotUnderstand, `${what}: ${name} is missing or not a UID`, uids);
    return value;
  };
  const instance: IngestInstance = {
    filePath,
    sopClassUid: meta.sopClassUid,
    sopInstanceUid: meta.sopInstanceUid,
    studyInstanceUid: required('studyInstanceUid', '(0020,000D) Study Instance UID'),
    seriesInstanceUid: required('seriesInstanceUid', '(0020,000E) Series Instance UID'),
    transferSyntaxUid: meta.transferSyntaxUid,
    sizeBytes: size,
  };
  for (const key of optionalHeaderKeys) {
    const value = text(key);
    if (value !== undefined) instance[key] = value;
  }
  return instance;
}

async function walk(
  filePath: string,
  offset: number,
  syntax: string,
  what: string,
  uids: { sopClassUid: string; sopInstanceUid: string },
): Promise<ReadonlyMap<HeaderKey, Buffer>> {
  const walker = new DatasetWalker(syntax === transferSyntax.implicitLittle);
  const source = createReadStream(filePath, { start: offset, highWaterMark: 256 * 1024 });
  const stream = syntax === transferSyntax.deflatedExplicitLittle ? source.pipe(createInflateRaw()) : source;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) walker.push(chunk);
    walker.end();
  } catch (error) {
    source.destroy();
    throw new InstanceRefusal(
      failureReason.cannotUnderstand,
      `${what}: ${error instanceof Error ? error.message : String(error)}`,
      uids,
    );
  }
  return walker.values;
}
