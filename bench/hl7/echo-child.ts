// The downstream MLLP receiver of the queued-delivery row (a RIS), in a process of its own as it would be in
// production: a receiver sharing the hub's event loop would slow the hub by its own work. Parses each message,
// answers AA, stores nothing. Prints {"port":N} once listening, then {"received":N} each time another
// count given as its argument has arrived.
import { startEcho } from './echo.ts';

const expected = Number(process.argv[2] ?? Infinity);
const echo = await startEcho(() => {
  if (echo.received() % expected === 0) process.stdout.write(`${JSON.stringify({ received: echo.received() })}\n`);
});
process.stdout.write(`${JSON.stringify({ port: echo.port })}\n`);
process.once('SIGTERM', () => void echo.close().then(() => process.exit(0)));
