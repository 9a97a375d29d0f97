// The files of a report (issue 12): uploaded scans (PDF, TIFF, JPEG) and the PDFs the hub renders, kept under
// <dataDir>/reports/<reportId>/. A file is written, synced and its directory entry synced BEFORE the report
// document names it (runtime/create-durably.ts), so a document never points at a file a crash lost. Every file
// has a name of its own (an upload's random id, a render's random suffix) and is created exclusively: a crash
// mid-write leaves at worst a partial file no document names, so no temporary name and rename are needed. Size and
// SHA-256 go into the document and are checked again when the file is served: a file changed or cut on disk
// is refused, not sent to a facility. Content is sniffed, never trusted from a Content-Type; a PDF must open
// with pdf-lib, so a truncated or corrupt upload is refused at the door instead of at the EHR.
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createDurably } from '../runtime/create-durably.ts';
import { InvalidInputError } from './errors.ts';
import type { ReportAttachment } from './report.ts';

export type AttachmentType = ReportAttachment['contentType'];

/** 20 MiB: a multi-page 300 dpi scan; config `reports.maxAttachmentBytes` changes it. */
export const defaultMaxAttachmentBytes = 20 * 1024 * 1024;

const extensions: Record<AttachmentType, string> = {
  'application/pdf': 'pdf',
  'image/tiff': 'tif',
  'image/jpeg': 'jpg',
  'text/plain': 'txt',
};

/** An upload over the configured limit: the HTTP layers answer 413. */
export class AttachmentTooLargeError extends InvalidInputError {
  readonly limit: number;
  constructor(size: number, limit: number) {
    super('attachment', `the file has ${size} bytes; the limit is ${limit}`);
    this.name = 'AttachmentTooLargeError';
    this.limit = limit;
  }
}

/** What the bytes are, by their magic numbers (PDF 1.7 7.5.2 header, TIFF 6.0 section 2, JPEG SOI + marker). */
export function sniffType(bytes: Uint8Array): AttachmentType | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 8));
  if (head.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  const tiff = head.subarray(0, 4).toString('hex');
  if (tiff === '49492a00' || tiff === '4d4d002a') return 'image/tiff';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  return undefined;
}

/** Refuses what is not a whole PDF, TIFF or JPEG of at most `limit` bytes; returns its type. */
export async function checkUpload(bytes: Uint8Array, limit: number, declared?: string): Promise<AttachmentType> {
  if (bytes.length > limit) throw new AttachmentTooLargeError(bytes.length, limit);
  if (bytes.length === 0) throw new InvalidInputError('attachment', 'the file is empty');
  const type = sniffType(bytes);
  if (type === undefined)
    throw new InvalidInputError('attachment', 'expected a PDF, TIFF or JPEG file (its first bytes are none of them)');
  if (
    declared !== undefined &&
    declared !== '' &&
    !declared.startsWith(type) &&
    declared !== 'application/octet-stream'
  )
    throw new InvalidInputError('attachment', `the file is ${type}, not ${declared} as declared`);
  if (type === 'application/pdf') {
    // pdf-lib skips what it cannot parse unless told not to, and a file of junk after a PDF header "loads"
    // without a page tree: both checks are needed to refuse a truncated or corrupt upload.
    // Loaded with the first PDF attachment (~10 MiB of pdf-lib that a hub which is given none does not need);
    // outside the try, so a library that fails to load is the hub's error, not the upload's.
    const { PDFDocument } = await import('pdf-lib');
    try {
      const pdf = await PDFDocument.load(bytes, { updateMetadata: false, throwOnInvalidObject: true });
      if (pdf.getPageCount() === 0) throw new Error('it has no pages');
    } catch (error) {
      throw new InvalidInputError('attachment', `the PDF cannot be read: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (type === 'image/jpeg' && !endsWithEoi(bytes))
    throw new InvalidInputError('attachment', 'the JPEG is cut short (no end-of-image marker)');
  return type;
}

/** A JPEG ends with EOI (FF D9); some writers pad after it, so the last 64 bytes are searched. */
function endsWithEoi(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 2; i >= Math.max(0, bytes.length - 64); i--)
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}

export class ReportFiles {
  readonly dataDir: string;
  readonly maxBytes: number;

  constructor(dataDir: string, maxBytes = defaultMaxAttachmentBytes) {
    this.dataDir = dataDir;
    this.maxBytes = maxBytes;
  }

  /** Writes the bytes durably under reports/<reportId>/<id>.<ext>; the caller then names it in the document. */
  async store(
    reportId: string,
    id: string,
    bytes: Uint8Array,
    meta: { contentType: AttachmentType; title: string; rendered: boolean },
  ): Promise<ReportAttachment> {
    const { relative } = this.target(reportId, id);
    await createDurably(this.dataDir, relative, bytes);
    return this.record(relative, bytes, { id, ...meta });
  }

  /**
   * Where a file of the report goes: `root` is the data dir and `relative` the path the document keeps. A writer
   * off the event loop (the PDF threads) creates it there durably, as store() does, and record() describes it.
   */
  target(reportId: string, fileName: string): { root: string; relative: string } {
    return { root: this.dataDir, relative: path.join('reports', safeName(reportId), safeName(fileName)) };
  }

  /** The document's record of a file written durably at `relative`. */
  record(
    relative: string,
    bytes: Uint8Array,
    meta: { id: string; contentType: AttachmentType; title: string; rendered: boolean },
  ): ReportAttachment {
    return {
      id: meta.id,
      contentType: meta.contentType,
      title: meta.title,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      path: relative.split(path.sep).join('/'),
      rendered: meta.rendered,
      createdAt: new Date().toISOString(),
    };
  }

  /** The file's bytes, refused (Error) unless size and SHA-256 are what the document recorded. */
  async read(attachment: ReportAttachment): Promise<Buffer> {
    const bytes = await readFile(path.join(this.dataDir, attachment.path));
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== attachment.size || digest !== attachment.sha256)
      throw new Error(
        `report file ${attachment.path} does not match its record (${bytes.length} bytes, expected ${attachment.size}; the SHA-256 differs)`,
      );
    return bytes;
  }
}

/** A new upload's id: unique within the report, with the extension the type implies. */
export function uploadId(type: AttachmentType): string {
  return `upload-${randomUUID().slice(0, 8)}.${extensions[type]}`;
}

/** Report and attachment ids become path segments: nothing that could climb out of the report's folder. */
function safeName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name) || name.includes('..'))
    throw new InvalidInputError('attachment', `"${name}" cannot name a file`);
  return name;
}
