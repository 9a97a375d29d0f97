// The one HTTP error model on the hub's real HTTP server: a route throws, the server answers an RFC 9457 problem
// (application/problem+json) with the status and, when the error may be shown, its text and path; an unexpected
// error answers a generic text and is logged with no patient data above debug.
import test from 'ava';
import Router from '@koa/router';
import { readJson } from '../../http/body.ts';
import { HttpError } from '../../http/http-error.ts';
import { HttpServer } from '../../http/server.ts';
import { createLogger, setLogLevel, setLogSink } from '../../runtime/log.ts';
import { ValidationError } from '../../runtime/validate.ts';

const lines: string[] = [];
setLogSink({ write: (line) => void lines.push(line) });

async function serve(t: {
  teardown(fn: () => Promise<void>): void;
}): Promise<(path: string, init?: RequestInit) => Promise<Response>> {
  const router = new Router();
  router.get('/gone', () => {
    throw new HttpError(404, "channel 'x' not found");
  });
  router.get('/bad-query', () => {
    throw new ValidationError('limit', 'expected a whole number');
  });
  router.get('/crash', () => {
    throw new Error('patient DOE^JANE MRN 4711 could not be written');
  });
  router.get('/secret', () => {
    throw new HttpError(503, 'store at mongodb://admin:pw@10.0.0.5 is down');
  });
  router.post('/echo', async (ctx) => {
    ctx.body = { received: await readJson(ctx, 1024) };
  });
  const server = new HttpServer({ host: '127.0.0.1', port: 0, log: createLogger({ part: 'http' }) });
  server.mount(router);
  await server.start();
  t.teardown(() => server.stop());
  return (path, init) => fetch(`http://127.0.0.1:${server.port}${path}`, init);
}

test.serial('a thrown HttpError is answered as a problem with its status and text', async (t) => {
  const request = await serve(t);
  const gone = await request('/gone');
  t.is(gone.status, 404);
  t.is(gone.headers.get('content-type'), 'application/problem+json');
  t.deepEqual(await gone.json(), {
    type: 'about:blank',
    title: 'Not Found',
    status: 404,
    detail: "channel 'x' not found",
    error: "channel 'x' not found",
  });
  const bad = await request('/bad-query');
  t.is(bad.status, 400);
  t.like(await bad.json(), { status: 400, detail: 'limit: expected a whole number', path: 'limit' });
});

test.serial('an unexpected error answers a generic 500 and logs no patient data above debug', async (t) => {
  setLogLevel('info');
  lines.length = 0;
  const request = await serve(t);
  const crash = await request('/crash');
  t.is(crash.status, 500);
  const body = (await crash.json()) as { detail: string };
  t.notRegex(body.detail, /DOE|4711/);
  const logged = lines.filter((line) => line.includes('http request failed'));
  t.is(logged.length, 1);
  t.notRegex(logged[0] ?? '', /DOE|4711/);
  t.regex(logged[0] ?? '', /"path":"\/crash"/);

  setLogLevel('debug');
  lines.length = 0;
  await request('/crash');
  t.true(
    lines.some((line) => /DOE\^JANE MRN 4711/.test(line)),
    'the message is written at debug',
  );
  setLogLevel('info');
});

test.serial('a 5xx HttpError is not shown to the caller unless it says it may be', async (t) => {
  const request = await serve(t);
  const secret = await request('/secret');
  t.is(secret.status, 503);
  t.notRegex(await secret.text(), /mongodb|10\.0\.0\.5/);
});

test.serial('a JSON body with a __proto__, constructor or prototype key is refused with 400 naming it', async (t) => {
  const request = await serve(t);
  const post = (text: string) =>
    request('/echo', { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
  const top = await post('{"name":"x","__proto__":{"isAdmin":true}}');
  t.is(top.status, 400);
  t.like(await top.json(), { path: '__proto__' });
  const nested = await post('{"destinations":[{"settings":{"constructor":{"prototype":{"polluted":1}}}}]}');
  t.is(nested.status, 400);
  const body = (await nested.json()) as { detail: string; path: string };
  t.is(body.path, 'destinations[0].settings.constructor');
  t.regex(body.detail, /"constructor"/);
  // Spelled with a JSON escape, the key is the same key.
  t.is((await post('{"\\u005f_proto__":{}}')).status, 400);
  // The words as values are fine.
  const fine = await post('{"note":"the constructor of the prototype"}');
  t.is(fine.status, 200);
});

test.serial(
  'a JSON body nested deeper than 100 levels is refused with 400, brackets inside strings do not count',
  async (t) => {
    const request = await serve(t);
    const post = (text: string) =>
      request('/echo', { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
    const deep = await post(`{"a":${'['.repeat(101)}${']'.repeat(101)}}`);
    t.is(deep.status, 400);
    t.like(await deep.json(), { status: 400, detail: 'the JSON is nested more than 100 levels deep' });
    const deepest = await post(`{"a":${'['.repeat(99)}${']'.repeat(99)},"b":"${'[{'.repeat(200)}\\""}`);
    t.is(deepest.status, 200);
  },
);
