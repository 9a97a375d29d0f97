// The WADO-RS cache of small instances: bounded in bytes, least recently used out first, large ones never kept,
// a key wanted only on its second read, and a copy of what it was given (a pooled slab is reused after it is sent).
import test from 'ava';
import { InstanceCache, instanceCacheKey } from '../../dicom/instance-cache.ts';

const bytes = (size: number, fill: number) => Buffer.alloc(size, fill);

test('holds at most its bound; the least recently used goes first', (t) => {
  const cache = new InstanceCache(300, 100);
  cache.put('a', bytes(100, 1));
  cache.put('b', bytes(100, 2));
  cache.put('c', bytes(100, 3));
  t.is(cache.bytes, 300);
  t.truthy(cache.get('a'), 'a is now the most recently used');
  cache.put('d', bytes(100, 4));
  t.is(cache.get('b'), undefined, 'b was the least recently used');
  t.deepEqual(
    ['a', 'c', 'd'].map((key) => cache.get(key)?.[0]),
    [1, 3, 4],
  );
  t.is(cache.bytes, 300);
});

test('an instance above the size limit, or empty, is not kept; a key put again replaces its bytes', (t) => {
  const cache = new InstanceCache(1000, 100);
  cache.put('big', bytes(101, 1));
  cache.put('empty', bytes(0, 1));
  t.is(cache.get('big'), undefined);
  t.is(cache.get('empty'), undefined);
  cache.put('x', bytes(50, 1));
  cache.put('x', bytes(80, 2));
  t.is(cache.bytes, 80);
  t.is(cache.get('x')?.[0], 2);
});

test('keeps a copy: the buffer it was given can be reused', (t) => {
  const cache = new InstanceCache(1000, 100);
  const slab = bytes(64, 7);
  cache.put('k', slab.subarray(10, 20));
  slab.fill(0);
  t.deepEqual(
    [...cache.get('k')!],
    Array.from({ length: 10 }, () => 7),
  );
});

test('the key changes with the file, its size and the time the record was written', (t) => {
  const record = { filePath: '/d/1.dcm', sizeBytes: 10, receivedAt: '2026-12-06T10:00:00.000Z' };
  const keys = new Set([
    instanceCacheKey(record),
    instanceCacheKey({ ...record, filePath: '/d/2.dcm' }),
    instanceCacheKey({ ...record, sizeBytes: 11 }),
    instanceCacheKey({ ...record, receivedAt: '2026-12-06T10:00:00.001Z' }),
  ]);
  t.is(keys.size, 4);
});

test('a key is wanted on its second read, not its first; the notes of first reads are bounded', (t) => {
  const cache = new InstanceCache(1000, 100, 3);
  t.false(cache.wants('a'));
  t.true(cache.wants('a'));
  t.false(cache.wants('a'), 'wanted once: a later miss starts over');
  t.false(cache.wants('b'));
  t.false(cache.wants('c'));
  // Three keys noted: the next first read forgets them all.
  t.false(cache.wants('d'));
  t.false(cache.wants('b'), 'b was forgotten');
  t.true(cache.wants('d'));
});
