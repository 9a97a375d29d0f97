// Koa has no body parser of its own; this one enforces a size limit before buffering, so a huge upload is
// refused with 413 instead of filling memory.
import type { Context } from 'koa';

export class BodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function readBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || NaN);
  if (declared > limitBytes) throw new BodyError(413, `the body is larger than ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new BodyError(413, `the body is larger than ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `parse` replaces JSON.parse for a caller that must see the text too (fhir/validator.ts parseJsonBody). */
export async function readJson(ctx: Context, limitBytes: number, parse: (text: string) => unknown = JSON.parse): Promise<unknown> {
  const body = await readBody(ctx, limitBytes);
  if (body.length === 0) throw new BodyError(400, 'the body is empty; expected JSON');
  try {
    return parse(body.toString('utf8'));
  } catch (error) {
    throw new BodyError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
}
