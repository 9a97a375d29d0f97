// Koa has no body parser of its own; this one enforces a size limit before buffering, so a huge upload is
// refused with 413 instead of filling memory. JSON keys that would reach an object's prototype when a body is
// merged or copied (`__proto__`, `constructor`, `prototype`) are refused here, at the one JSON reader, and so is
// JSON nested deeper than any resource or definition is: JSON.parse takes it, but every recursive step after it
// (validation, structuredClone to a worker, JSON.stringify into the store) overflows the stack.
import type { Context } from 'koa';
import { HttpError } from './http-error.ts';

export async function readBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || NaN);
  if (declared > limitBytes)
    throw new HttpError(413, `the body is larger than ${limitBytes} bytes`, { code: 'too-costly' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes)
      throw new HttpError(413, `the body is larger than ${limitBytes} bytes`, { code: 'too-costly' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `parse` replaces JSON.parse for a caller that must see the text too (fhir/validator.ts parseJsonBody). */
export async function readJson(
  ctx: Context,
  limitBytes: number,
  parse: (text: string) => unknown = JSON.parse,
): Promise<unknown> {
  const body = await readBody(ctx, limitBytes);
  if (body.length === 0) throw new HttpError(400, 'the body is empty; expected JSON', { code: 'structure' });
  const text = body.toString('utf8');
  const depth = nestingDepth(text, maxJsonDepth);
  if (depth > maxJsonDepth)
    throw new HttpError(400, `the JSON is nested more than ${maxJsonDepth} levels deep`, { code: 'too-costly' });
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`, { code: 'structure' });
  }
  // Most bodies spell none of the keys (an escape such as \u005f could): the walk is skipped for them.
  if (!/__proto__|constructor|prototype|\\u/.test(text)) return value;
  const found = prototypeKey(value);
  if (found !== undefined) {
    const where = found.at === '' ? 'at the top level' : `in ${found.at}`;
    throw new HttpError(400, `the key "${found.key}" ${where} is refused: it could reach an object's prototype`, {
      code: 'structure',
      path: found.at === '' ? found.key : `${found.at}.${found.key}`,
    });
  }
  return value;
}

/** A FHIR Bundle with contained resources and nested extensions stays below 30 levels. */
export const maxJsonDepth = 100;

/** How deep objects and arrays nest in `text` (brackets inside strings do not count), up to `stopAbove` + 1. */
function nestingDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > stopAbove) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

const prototypeKeys = new Set(['__proto__', 'constructor', 'prototype']);

/** The first prototype key and the path of the object holding it; a loop, not recursion, for deep bodies. */
function prototypeKey(root: unknown): { key: string; at: string } | undefined {
  const stack: Array<{ value: unknown; at: string }> = [{ value: root, at: '' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, at } = item;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (const [i, element] of value.entries()) stack.push({ value: element, at: `${at}[${i}]` });
      continue;
    }
    for (const key of Object.keys(value)) {
      if (prototypeKeys.has(key)) return { key, at };
      stack.push({ value: (value as Record<string, unknown>)[key], at: at === '' ? key : `${at}.${key}` });
    }
  }
  return undefined;
}
