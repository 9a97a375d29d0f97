// The web console as the hub serves it: the app's page at / and at any deep link, hashed assets cached for good,
// a strict CSP with a fresh style nonce per page, API addresses left to the APIs, and a clear 503 when the app
// was never built. Runs on a small build of its own (index.html + one asset) so it needs no `npm run build:ui`.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Router from '@koa/router';
import test, { type ExecutionContext } from 'ava';
import { createWebAppRouter } from '../../admin-ui/web-app.ts';
import { defaultHttpLimits, HttpServer } from '../../http/server.ts';
import { createLogger } from '../../runtime/log.ts';
import { tempDir } from '../support/hub-process.ts';

const log = createLogger({ test: 'web-app' });
const index = `<!doctype html><html><head><meta name="csp-nonce" content="" />
<script type="module" crossorigin src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`;

async function built(): Promise<string> {
  const dist = await tempDir('web-dist');
  await mkdir(path.join(dist, 'assets'));
  await writeFile(path.join(dist, 'index.html'), index);
  await writeFile(path.join(dist, 'assets', 'index-abc123.js'), 'console.log("console")');
  return dist;
}

async function serve(t: ExecutionContext, dist: string): Promise<(p: string) => string> {
  const server = new HttpServer({ host: '127.0.0.1', port: 0, log, limits: defaultHttpLimits });
  const api = new Router({ prefix: '/api' });
  api.get('/channels', (ctx) => {
    ctx.body = [];
  });
  server.mount(api);
  server.mount(createWebAppRouter(dist));
  await server.start();
  t.teardown(() => server.stop());
  return (p) => `http://127.0.0.1:${server.port}${p}`;
}

function directives(csp: string | null): Map<string, string> {
  return new Map(
    (csp ?? '').split(';').map(
      (d) =>
        d
          .trim()
          .split(/\s+(.*)/s)
          .slice(0, 2) as [string, string],
    ),
  );
}

test('the app page is served at / and at deep links, uncached, with a strict CSP and a fresh nonce', async (t) => {
  const url = await serve(t, await built());
  const nonces = new Set<string>();
  for (const address of ['/', '/channels/orders', '/messages?accession=A1']) {
    const response = await fetch(url(address));
    t.is(response.status, 200, address);
    t.regex(response.headers.get('content-type') ?? '', /^text\/html/);
    t.is(response.headers.get('cache-control'), 'no-cache');
    const csp = directives(response.headers.get('content-security-policy'));
    t.is(csp.get('default-src'), "'none'");
    t.is(csp.get('script-src'), "'self'", 'no inline script, no eval');
    t.is(csp.get('frame-ancestors'), "'none'");
    const nonce = /'nonce-([^']+)'/.exec(csp.get('style-src') ?? '')?.[1];
    if (!nonce) return t.fail('style-src has no nonce');
    t.false(csp.get('style-src')?.includes('unsafe-inline'));
    const body = await response.text();
    t.true(body.includes(`<meta name="csp-nonce" content="${nonce}" />`), 'the page tells the app its nonce');
    t.false(/<script(?![^>]*\bsrc=)[^>]*>/.test(body), 'every script is a file');
    t.is(response.headers.get('x-content-type-options'), 'nosniff');
    nonces.add(nonce);
  }
  t.is(nonces.size, 3, 'a nonce is never reused');
});

test('hashed assets are cached for a year; unknown, hidden or escaping asset names are 404', async (t) => {
  const url = await serve(t, await built());
  const asset = await fetch(url('/assets/index-abc123.js'));
  t.is(asset.status, 200);
  t.is(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  t.regex(asset.headers.get('content-type') ?? '', /^text\/javascript/);
  t.is(await asset.text(), 'console.log("console")');
  for (const bad of ['/assets/index-zzz.js', '/assets/..%2Findex.html', '/assets/.env', '/assets/index-abc123.exe']) {
    t.is((await fetch(url(bad))).status, 404, bad);
  }
  t.is((await fetch(url('/favicon.ico'))).status, 404, 'a file name is not a page of the app');
});

test('API addresses stay with the APIs: a known route answers, an unknown one is 404, not the app', async (t) => {
  const url = await serve(t, await built());
  t.deepEqual(await (await fetch(url('/api/channels'))).json(), []);
  for (const address of ['/api/nothing-here', '/fhir/R4/Nothing', '/health/x', '/metrics/x']) {
    const response = await fetch(url(address));
    t.is(response.status, 404, address);
    t.notRegex(response.headers.get('content-type') ?? '', /text\/html/);
  }
});

test('without a build the page says how to make one, with 503', async (t) => {
  const url = await serve(t, await tempDir('web-empty'));
  const response = await fetch(url('/channels'));
  t.is(response.status, 503);
  t.regex(((await response.json()) as { detail: string }).detail, /npm run build:ui/);
});
