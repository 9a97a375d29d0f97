// A multipart/form-data reader (RFC 7578, framing from RFC 2046 5.1.1) for the one upload the hub takes from a
// browser: a report file with a few text fields. The body is read whole under a byte limit (http/body.ts, 413
// past it), then cut at the boundary lines; parts keep their bytes untouched (no charset or transfer decoding:
// RFC 7578 4.7 deprecates Content-Transfer-Encoding). Small on purpose: no streaming to disk, because a report
// file is bounded (config reports.maxAttachmentBytes) and must be sniffed and hashed whole anyway.
import type { Context } from 'koa';
import { readBody } from './body.ts';
import { HttpError } from './http-error.ts';

export interface FormFile {
  /** The form field's name. */
  field: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface FormData {
  fields: Map<string, string>;
  files: FormFile[];
}

const crlf = Buffer.from('\r\n');
const headerEnd = Buffer.from('\r\n\r\n');

function bad(text: string): HttpError {
  return new HttpError(400, `multipart/form-data: ${text}`, { code: 'structure' });
}

/** The boundary parameter of a multipart/form-data Content-Type (RFC 2046 5.1.1: 1 to 70 characters). */
export function boundaryOf(contentType: string): string {
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType))
    throw new HttpError(415, `expected Content-Type multipart/form-data, got "${contentType || 'none'}"`, {
      code: 'not-supported',
    });
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw bad('the Content-Type names no boundary');
  return boundary;
}

export async function readForm(ctx: Context, limitBytes: number): Promise<FormData> {
  const boundary = boundaryOf(ctx.get('content-type'));
  return parseForm(await readBody(ctx, limitBytes), boundary);
}

export function parseForm(body: Buffer, boundary: string): FormData {
  const delimiter = Buffer.from(`--${boundary}`);
  const form: FormData = { fields: new Map(), files: [] };
  let at = body.indexOf(delimiter);
  if (at < 0) throw bad('the body has no boundary line');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString('latin1') === '--') return form;
    if (!body.subarray(at, at + 2).equals(crlf)) throw bad('a boundary line is not followed by CRLF');
    const start = at + 2;
    const next = body.indexOf(Buffer.concat([crlf, delimiter]), start);
    if (next < 0) throw bad('the last part is not closed by its boundary (the body was cut short?)');
    addPart(form, body.subarray(start, next));
    at = next + crlf.length;
  }
}

function addPart(form: FormData, part: Buffer): void {
  const split = part.indexOf(headerEnd);
  if (split < 0) throw bad('a part has no blank line after its headers');
  const headers = new Map<string, string>();
  for (const line of part.subarray(0, split).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition') ?? '';
  if (!/^form-data\b/i.test(disposition)) throw bad('a part is not Content-Disposition: form-data');
  const name = parameter(disposition, 'name');
  if (name === undefined) throw bad('a part has no name');
  const bytes = part.subarray(split + headerEnd.length);
  const filename = parameter(disposition, 'filename');
  if (filename === undefined) {
    form.fields.set(name, bytes.toString('utf8'));
    return;
  }
  form.files.push({
    field: name,
    filename,
    contentType: headers.get('content-type') ?? 'application/octet-stream',
    bytes: Buffer.from(bytes),
  });
}

/** A quoted or token parameter of a header value; browsers percent-encode quotes in quoted names (RFC 7578 4.2). */
function parameter(value: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(value);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1').replace(/%22/g, '"') : match[2];
}
