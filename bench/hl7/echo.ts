// The benchmark's MLLP echo: parse, build an ACK, answer; nothing stored. It is the reference the hub is
// compared with, and the receiver the hub delivers to.
import { once } from 'node:events';
import net from 'node:net';
import { ackRequestOf, buildAck } from '../../hl7/ack.ts';
import { decodeHl7, encodeHl7 } from '../../hl7/charset.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { encodeFrame, MllpDecoder } from '../../hl7/mllp-framer.ts';

export interface Echo {
  port: number;
  received: () => number;
  close: () => Promise<void>;
}

export async function startEcho(onFrame: () => void = () => undefined): Promise<Echo> {
  let received = 0;
  const server = net.createServer({ noDelay: true }, (socket) => {
    const decoder = new MllpDecoder(
      { maxFrameBytes: 2 ** 20 },
      {
        frame: (frame) => {
          received++;
          const { text, charset } = decodeHl7(frame);
          const ack = buildAck(ackRequestOf(Hl7Message.parse(text)), 'AA');
          socket.write(encodeFrame(encodeHl7(ack.toString(), charset)));
          onFrame();
        },
        garbage: () => undefined,
        oversize: () => undefined,
      },
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
