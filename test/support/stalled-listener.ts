// A TCP listener whose process never accepts: it blocks its event loop right after listening, with a backlog
// of 1. The kernel completes two handshakes into the accept queue; after that, SYNs are dropped and a connect
// hangs, as one does to a host that has gone silent. Prints {"port":N}; kill it to end it.
import net from 'node:net';

const server = net.createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});
