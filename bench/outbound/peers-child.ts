// The peers of the outbound benchmark, in their own process so their work is not counted in the hub's RSS or
// CPU: an SMTP server (smtp-server, the one the tests use) that reads and drops each mail, and the fax gateway
// built with soap.listen from the WSDL the hub ships, whose every job is delivered at the first status poll.
// Prints one JSON line with the addresses, then runs until its parent closes stdin.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import soap from 'soap';
import { SMTPServer } from 'smtp-server';

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => callback());
  },
});
smtp.listen(0, '127.0.0.1');
await once(smtp.server, 'listening');

let jobs = 0;
const wsdl = await readFile(path.join(import.meta.dirname, '..', '..', 'config', 'wsdl', 'fax-gateway.wsdl'), 'utf8');
const http = createServer();
http.listen(0, '127.0.0.1');
await once(http, 'listening');
soap.listen(
  http,
  '/fax',
  {
    FaxGateway: {
      FaxGatewayPort: {
        SendFax: () => ({ jobId: `job-${++jobs}` }),
        GetFaxStatus: (args: Record<string, string>) => ({ jobId: args['jobId'], status: 'delivered' }),
      },
    },
  },
  wsdl,
);

const port = (server: { address(): unknown }) => (server.address() as { port: number }).port;
process.stdout.write(
  `${JSON.stringify({ smtpPort: port(smtp.server), faxEndpoint: `http://127.0.0.1:${port(http)}/fax` })}\n`,
);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
