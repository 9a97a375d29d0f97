// The multipart/related writer behind WADO-RS over a real HTTP socket: parts of every size around the slab's
// (dicom/slab-pool.ts) come back byte for byte through the STOW-RS reader, read on the event loop and on libuv's
// threads alike; a client that leaves, or a file that vanishes, ends the answer without hurting the server; a
// cache of small files answers them again from memory, under the key their record gives.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import Koa from 'koa';
import { InstanceCache } from '../../dicom/instance-cache.ts';
import { boundaryOf, readMultipart } from '../../dicom/multipart-related.ts';
import { type MultipartOptions, type OutgoingPart, sendMultipart } from '../../dicom/multipart-writer.ts';
import { slabBytes } from '../../dicom/slab-pool.ts';

interface Served {
  url: string;
  errors: Error[];
  /** Resolves with each answer's end (sendMultipart returned). */
  answered: Array<Promise<void>>;
  close(): Promise<void>;
}

async function serve(parts: () => OutgoingPart[], options: MultipartOptions = {}): Promise<Served> {
  const app = new Koa();
  const errors: Error[] = [];
  const answered: Array<Promise<void>> = [];
  app.on('error', (error: Error) => errors.push(error));
  app.use(async (ctx) => {
    const answer = sendMultipart(ctx, 'application/dicom', parts(), options);
    answered.push(answer);
    await answer;
  });
  const server = http.createServer(app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    errors,
    answered,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function files(t: ExecutionContext, sizes: number[]): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'multipart-writer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return Promise.all(
    sizes.map(async (size, i) => {
      const file = path.join(dir, `${i}.dcm`);
      await writeFile(file, randomBytes(size));
      return file;
    }),
  );
}

const sizes = [0, 1, 100 * 1024, slabBytes - 200, slabBytes, slabBytes + 1, 3 * slabBytes + 7, 100 * 1024];

async function roundTrip(t: ExecutionContext, options: MultipartOptions): Promise<void> {
  const paths = await files(t, sizes);
  const frame = randomBytes(2 * slabBytes + 3);
  const small = randomBytes(10);
  const parts = (): OutgoingPart[] => [
    // One hint is wrong (the file was replaced since it was stored): the part is still the whole file.
    ...paths.map((filePath, i) => ({
      contentType: 'application/dicom',
      filePath,
      sizeHint: i === 2 ? 10 : sizes[i],
      location: `/instances/${i}`,
    })),
    { contentType: 'application/octet-stream', bytes: frame },
    { contentType: 'application/octet-stream', bytes: small },
  ];
  const served = await serve(parts, options);
  t.teardown(() => served.close());
  const response = await fetch(served.url);
  t.is(response.status, 200);
  const contentType = response.headers.get('content-type') ?? '';
  t.regex(contentType, /^multipart\/related; type="application\/dicom"; boundary=/);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'multipart-read-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  const received = await readMultipart(body, boundaryOf(contentType)!, dir);
  t.is(received.length, sizes.length + 2);
  for (const [i, filePath] of paths.entries()) {
    // Buffer.equals: ava's deepEqual walks a buffer byte by byte, seconds for a few MiB.
    t.true((await readFile(received[i]!.filePath)).equals(await readFile(filePath)), `part ${i}`);
    t.is(received[i]!.headers.get('content-location'), `/instances/${i}`);
  }
  t.true((await readFile(received[sizes.length]!.filePath)).equals(frame));
  t.true((await readFile(received[sizes.length + 1]!.filePath)).equals(small));
  await Promise.all(served.answered);
  t.deepEqual(served.errors, []);
}

test('parts of every size around a slab come back whole, read on the event loop', (t) => roundTrip(t, {}));

test('the same when every read is slow and the answer goes on through libuv threads', (t) =>
  roundTrip(t, { slowReadMs: -1 }));

test('a client that leaves mid-answer ends it; the server answers the next one', async (t) => {
  const paths = await files(
    t,
    Array.from({ length: 40 }, () => slabBytes),
  );
  const parts = () => paths.map((filePath) => ({ contentType: 'application/dicom', filePath, sizeHint: slabBytes }));
  const served = await serve(parts);
  t.teardown(() => served.close());
  const controller = new AbortController();
  const response = await fetch(served.url, { signal: controller.signal });
  const reader = response.body!.getReader();
  await reader.read();
  controller.abort();
  // sendMultipart returns once it sees the response gone instead of waiting for a drain that never comes.
  await served.answered[0];
  const again = await fetch(served.url);
  let bytes = 0;
  for await (const chunk of again.body!) bytes += chunk.byteLength;
  t.true(bytes > 40 * slabBytes);
});

test('a file gone mid-answer cuts the body short and is reported, not thrown', async (t) => {
  const paths = await files(t, [100 * 1024, 3 * slabBytes, 100 * 1024]);
  const parts = (): OutgoingPart[] => [
    { contentType: 'application/dicom', filePath: paths[0]! },
    { contentType: 'application/dicom', filePath: paths[1]! },
    { contentType: 'application/dicom', filePath: `${paths[2]!}.missing` },
  ];
  const served = await serve(parts);
  t.teardown(() => served.close());
  await unlink(paths[2]!);
  const response = await fetch(served.url);
  t.is(response.status, 200);
  await t.throwsAsync(async () => {
    for await (const _ of response.body!);
  });
  await served.answered[0];
  t.is(served.errors.length, 1);
  t.regex(served.errors[0]!.message, /ENOENT/);
});

test('HEAD answers the headers alone and reads no file', async (t) => {
  const served = await serve(() => [{ contentType: 'application/dicom', filePath: '/nonexistent/instance.dcm' }]);
  t.teardown(() => served.close());
  const response = await fetch(served.url, { method: 'HEAD' });
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^multipart\/related; type="application\/dicom"; boundary=/);
  t.is((await response.arrayBuffer()).byteLength, 0);
  await Promise.all(served.answered);
  t.deepEqual(served.errors, [], 'the missing file was never opened');
});

/** The parts of a multipart answer, each read back whole. */
async function partsOf(t: ExecutionContext, url: string): Promise<Buffer[]> {
  const response = await fetch(url);
  const contentType = response.headers.get('content-type') ?? '';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'multipart-read-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  const received = await readMultipart(body, boundaryOf(contentType)!, dir);
  return Promise.all(received.map((part) => readFile(part.filePath)));
}

test('a cache keeps a small file read twice and answers it from memory under its key; a new key, or a large file, is read', async (t) => {
  const [small, other, large] = await files(t, [100 * 1024, 100 * 1024, 2 * slabBytes]);
  const cache = new InstanceCache(8 * 1024 * 1024, 1024 * 1024);
  let keyOfSmall = 'small@1';
  const parts = (): OutgoingPart[] => [
    { contentType: 'application/dicom', filePath: small!, sizeHint: 100 * 1024, cacheKey: keyOfSmall },
    { contentType: 'application/dicom', filePath: other!, sizeHint: 100 * 1024 },
    { contentType: 'application/dicom', filePath: large!, sizeHint: 2 * slabBytes, cacheKey: 'large@1' },
  ];
  const served = await serve(parts, { cache });
  t.teardown(() => served.close());
  const [smallBytes, otherBytes, largeBytes] = await Promise.all([small!, other!, large!].map((f) => readFile(f)));

  const first = await partsOf(t, served.url);
  t.true(first[0]!.equals(smallBytes!) && first[1]!.equals(otherBytes!) && first[2]!.equals(largeBytes!));
  t.is(cache.bytes, 0, 'nothing is kept from a first read');
  const again = await partsOf(t, served.url);
  t.true(again[0]!.equals(smallBytes!) && again[1]!.equals(otherBytes!) && again[2]!.equals(largeBytes!));
  t.is(cache.bytes, 100 * 1024, 'read again: only the small file with a key is kept');

  // The files change on disk behind the same keys: the small one comes from memory, the others are read again.
  const [newSmall, newOther, newLarge] = [randomBytes(100 * 1024), randomBytes(100 * 1024), randomBytes(2 * slabBytes)];
  await Promise.all([writeFile(small!, newSmall), writeFile(other!, newOther), writeFile(large!, newLarge)]);
  const second = await partsOf(t, served.url);
  t.true(second[0]!.equals(smallBytes!), 'the small file from the cache');
  t.true(second[1]!.equals(newOther) && second[2]!.equals(newLarge), 'the others from disk');

  // A new key (the instance's record changed with its file): read from disk, and kept once read again.
  keyOfSmall = 'small@2';
  for (let read = 0; read < 2; read++) t.true((await partsOf(t, served.url))[0]!.equals(newSmall));
  t.true(cache.get('small@2')!.equals(newSmall));
  await Promise.all(served.answered);
  t.deepEqual(served.errors, []);
});
