// Links to a report that stand in for the PDF in an e-mail (reportDestinations.emailLink): a token that names the
// report and its expiry, signed with HMAC-SHA256 (RFC 2104) so the hub can serve it without an account and without
// keeping a table of links. The secret comes from HUB_LINK_SECRET or from <dataDir>/link-secret, created 0600 at
// first use by a hard link from a temporary file, so two processes on one data dir can never read half a secret.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type LinkCheck =
  | { status: 'valid'; reportId: string; expiresAt: Date }
  | { status: 'bad-signature' }
  | { status: 'expired'; reportId: string; expiresAt: Date };

interface Payload {
  r: string;
  /** Expiry in seconds since the epoch. */
  e: number;
}

export class ReportLinks {
  readonly #dataDir: string;
  readonly #envSecret: string | undefined;
  #secret: Promise<Buffer> | undefined;

  constructor(dataDir: string, envSecret = process.env['HUB_LINK_SECRET']) {
    this.#dataDir = dataDir;
    this.#envSecret = envSecret === '' ? undefined : envSecret;
  }

  async sign(reportId: string, expiresAt: Date): Promise<string> {
    const payload: Payload = { r: reportId, e: Math.floor(expiresAt.getTime() / 1000) };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${(await this.#mac(body)).toString('base64url')}`;
  }

  async check(token: string, now = new Date()): Promise<LinkCheck> {
    const [body, signature, extra] = token.split('.');
    if (body === undefined || signature === undefined || extra !== undefined) return { status: 'bad-signature' };
    const expected = await this.#mac(body);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { status: 'bad-signature' };
    const payload = parsePayload(body);
    if (payload === undefined) return { status: 'bad-signature' };
    const expiresAt = new Date(payload.e * 1000);
    if (expiresAt.getTime() <= now.getTime()) return { status: 'expired', reportId: payload.r, expiresAt };
    return { status: 'valid', reportId: payload.r, expiresAt };
  }

  async #mac(body: string): Promise<Buffer> {
    this.#secret ??=
      this.#envSecret === undefined ? secretFile(this.#dataDir) : Promise.resolve(Buffer.from(this.#envSecret));
    return createHmac('sha256', await this.#secret)
      .update(body)
      .digest();
  }
}

function parsePayload(body: string): Payload | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { r, e } = value as Record<string, unknown>;
    return typeof r === 'string' && typeof e === 'number' ? { r, e } : undefined;
  } catch {
    return undefined;
  }
}

async function secretFile(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'link-secret');
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temporary, randomBytes(32).toString('base64url'), { mode: 0o600 });
  try {
    await link(temporary, file);
  } catch (error) {
    // Another process made it first: its secret is the one.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temporary, { force: true });
  }
  return readFile(file);
}
