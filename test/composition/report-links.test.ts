// The signer of e-mailed report links: the secret is made once per data dir (0600) and shared by every process on
// it, or taken from HUB_LINK_SECRET; a token keeps its report and expiry and loses its validity when touched.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ReportLinks } from '../../composition/report-links.ts';

async function dataDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-links-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the first start writes a secret only the hub may read, and every signer on the data dir uses it', async (t) => {
  const dir = await dataDir(t);
  const until = new Date(Date.now() + 3600_000);
  const [one, two] = [new ReportLinks(dir, ''), new ReportLinks(dir, '')];
  const [a, b] = await Promise.all([one.sign('rep-1', until), two.sign('rep-1', until)]);
  t.is(a, b, 'two signers racing at first start end with one secret');
  t.is((await stat(path.join(dir, 'link-secret'))).mode & 0o777, 0o600);
  const check = await new ReportLinks(dir, '').check(a);
  t.is(check.status, 'valid');
  t.is(check.status === 'valid' ? check.reportId : '', 'rep-1');
});

test('HUB_LINK_SECRET signs instead of the file; a token of another secret is a bad signature', async (t) => {
  const dir = await dataDir(t);
  const until = new Date(Date.now() + 3600_000);
  const token = await new ReportLinks(dir, 'a secret from the environment').sign('rep-2', until);
  t.is((await new ReportLinks(dir, 'a secret from the environment').check(token)).status, 'valid');
  await t.throwsAsync(stat(path.join(dir, 'link-secret')), { code: 'ENOENT' }, 'the env secret made no file');
  t.is((await new ReportLinks(dir, '').check(token)).status, 'bad-signature');
});

test('a token is expired from its expiry on, and the expiry cannot be moved without breaking the signature', async (t) => {
  const links = new ReportLinks(await dataDir(t), '');
  const until = new Date('2026-12-05T18:00:00Z');
  const token = await links.sign('rep-3', until);
  t.is((await links.check(token, new Date('2026-12-05T17:59:59Z'))).status, 'valid');
  t.is((await links.check(token, until)).status, 'expired');
  const [, signature] = token.split('.');
  const later = Buffer.from(JSON.stringify({ r: 'rep-3', e: until.getTime() / 1000 + 86_400 })).toString('base64url');
  t.is((await links.check(`${later}.${signature}`, new Date('2026-12-05T18:30:00Z'))).status, 'bad-signature');
  t.is((await links.check('')).status, 'bad-signature');
  t.is((await links.check('a.b.c')).status, 'bad-signature');
});
