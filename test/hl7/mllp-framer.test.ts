import test from 'ava';
import { encodeFrame, MllpDecoder } from '../../hl7/mllp-framer.ts';

function collect(maxFrameBytes = 1024) {
  const seen = {
    frames: [] as string[],
    garbage: [] as number[],
    oversize: [] as Array<{ head: string; size: number }>,
  };
  const decoder = new MllpDecoder(
    { maxFrameBytes, headBytes: 8 },
    {
      frame: (f) => seen.frames.push(f.toString('latin1')),
      garbage: (n) => seen.garbage.push(n),
      oversize: (head, size) => seen.oversize.push({ head: head.toString('latin1'), size }),
    },
  );
  return { decoder, seen };
}

const frame = (s: string): Buffer => encodeFrame(Buffer.from(s, 'latin1'));

test('a frame split byte by byte is reassembled', (t) => {
  const { decoder, seen } = collect();
  const bytes = Buffer.concat([frame('MSH|one\r'), frame('MSH|two\r')]);
  for (const b of bytes) decoder.push(Buffer.from([b]));
  t.deepEqual(seen.frames, ['MSH|one\r', 'MSH|two\r']);
  t.deepEqual(seen.garbage, []);
});

test('three frames in one write come out as three frames', (t) => {
  const { decoder, seen } = collect();
  decoder.push(Buffer.concat([frame('A'), frame('B'), frame('C')]));
  t.deepEqual(seen.frames, ['A', 'B', 'C']);
});

test('garbage between frames is reported and skipped; whitespace is not garbage', (t) => {
  const { decoder, seen } = collect();
  decoder.push(Buffer.concat([Buffer.from('junk'), frame('A'), Buffer.from('\r\n'), Buffer.from('xx'), frame('B')]));
  t.deepEqual(seen.frames, ['A', 'B']);
  t.deepEqual(seen.garbage, [4, 2]);
});

test('a frame cut short by a new start byte is reported and the next frame is read', (t) => {
  const { decoder, seen } = collect();
  decoder.push(Buffer.concat([Buffer.from([0x0b]), Buffer.from('half'), frame('whole')]));
  t.deepEqual(seen.frames, ['whole']);
  t.deepEqual(seen.garbage, [5]);
});

test('an oversized frame is dropped with its head kept, and the decoder resynchronises', (t) => {
  const { decoder, seen } = collect(16);
  const big = frame(`MSH|${'x'.repeat(40)}`);
  decoder.push(big.subarray(0, 10));
  decoder.push(big.subarray(10));
  decoder.push(frame('MSH|ok'));
  t.deepEqual(seen.frames, ['MSH|ok']);
  t.is(seen.oversize.length, 1);
  t.is(seen.oversize[0]!.head, 'MSH|xxxx');
  t.is(seen.oversize[0]!.size, 44);
});

test('the end block split from its CR across packets still ends the frame once', (t) => {
  const { decoder, seen } = collect();
  const bytes = frame('A');
  decoder.push(bytes.subarray(0, bytes.length - 1));
  decoder.push(Buffer.concat([bytes.subarray(bytes.length - 1), frame('B')]));
  t.deepEqual(seen.frames, ['A', 'B']);
  t.deepEqual(seen.garbage, []);
});
