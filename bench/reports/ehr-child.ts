// The facility EHR of the reports benchmark: an MLLP receiver in a process of its own (as the EHR is), answering
// each ORU^R01 AA. For every message it prints one line `{"placer":"...","at":<epoch ms>}` right after writing the
// ACK, so the benchmark can time each report from its final POST to its ACK across the two processes.
import net from 'node:net';
import { ackRequestOf, buildAck } from '../../hl7/ack.ts';
import { decodeHl7, encodeHl7 } from '../../hl7/charset.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { encodeFrame, MllpDecoder } from '../../hl7/mllp-framer.ts';

const now = () => performance.timeOrigin + performance.now();

const server = net.createServer({ noDelay: true }, (socket) => {
  const decoder = new MllpDecoder(
    { maxFrameBytes: 16 * 2 ** 20 },
    {
      frame: (frame) => {
        const { text, charset } = decodeHl7(frame);
        const message = Hl7Message.parse(text);
        socket.write(encodeFrame(encodeHl7(buildAck(ackRequestOf(message), 'AA').toString(), charset)));
        const obr = text.split('\r').find((segment) => segment.startsWith('OBR|'));
        const placer = obr?.split('|')[2]?.split('^')[0] ?? '';
        process.stdout.write(`${JSON.stringify({ placer, at: now() })}\n`);
      },
      garbage: () => undefined,
      oversize: () => undefined,
    },
  );
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
