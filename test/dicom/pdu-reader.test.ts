// PDU framing must not depend on how TCP splits the stream: every split point gives the same PDVs and PDUs.
import test from 'ava';
import { encodeReleaseRq, pDataHeader, pduType } from '../../dicom/pdu.ts';
import { PduReader } from '../../dicom/pdu-reader.ts';

interface Seen {
  pdus: number[];
  command: Buffer[];
  data: Buffer[];
  ends: number;
}

function read(stream: Buffer, cut: number): Seen {
  const seen: Seen = { pdus: [], command: [], data: [], ends: 0 };
  const reader = new PduReader({
    pdu: (type) => seen.pdus.push(type),
    pdv: (_id, isCommand, piece, end) => {
      (isCommand ? seen.command : seen.data).push(Buffer.from(piece));
      if (end) seen.ends++;
    },
  });
  reader.push(stream.subarray(0, cut));
  reader.push(stream.subarray(cut));
  return seen;
}

test('a command, a data set in two PDUs and a release survive every split point', (t) => {
  const command = Buffer.from('command-bytes!');
  const first = Buffer.alloc(100, 1);
  const second = Buffer.alloc(57, 2);
  const stream = Buffer.concat([
    pDataHeader(1, command.length, true, true),
    command,
    pDataHeader(1, first.length, false, false),
    first,
    pDataHeader(1, second.length, false, true),
    second,
    encodeReleaseRq(),
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const seen = read(stream, cut);
    t.true(Buffer.concat(seen.command).equals(command), `command at cut ${cut}`);
    t.true(Buffer.concat(seen.data).equals(Buffer.concat([first, second])), `data at cut ${cut}`);
    t.is(seen.ends, 2);
    t.deepEqual(seen.pdus, [pduType.releaseRq]);
  }
});

test('a PDV longer than its PDU is a protocol error', (t) => {
  const bad = pDataHeader(1, 10, false, true);
  bad.writeUInt32BE(4, 2);
  const reader = new PduReader({ pdu: () => undefined, pdv: () => undefined });
  t.throws(() => reader.push(Buffer.concat([bad, Buffer.alloc(10)])), { message: /does not fit/ });
});
