// The `sms` destination against an HTTP receiver that records each post: a 500 then a 200 is one retry, a 4xx
// fails at once with the gateway's answer, a form body is sent from the templates, a gateway that never answers
// times out and is retried, and a template with an unknown variable is refused when the channel is saved.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { smsDestination } from '../../sms/sms-destination.ts';
import { TestPeers, channelJson, jsonMessage, startEngine, tempDir, waitFor } from '../channels/harness.ts';

interface Post {
  headers: IncomingMessage['headers'];
  body: string;
}

/** Answers the posts with `statuses` in turn (200 past the end); `silent` never answers at all. */
async function smsGateway(t: ExecutionContext, statuses: number[] = [], silent = false) {
  const posts: Post[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      posts.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (silent) return;
      const status = statuses[posts.length - 1] ?? 200;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(status === 200 ? { id: `sms-${posts.length}` } : { error: `status ${status}` }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/send`, posts };
}

async function setup(t: ExecutionContext, settings: Record<string, unknown>) {
  const tmp = await tempDir('sms');
  const peers = new TestPeers();
  const registry = peers.registry();
  registry.addDestination(smsDestination);
  const started = await startEngine(peers, path.join(tmp.dir, 'data'), { registry });
  t.teardown(async () => {
    await started.close();
    await tmp.remove();
  });
  const definition = channelJson('sms', [
    {
      name: 'sms',
      connector: { type: 'sms', settings },
      queue: 'unordered',
      retry: { initialDelayMs: 20, maxDelayMs: 100, multiplier: 2 },
      maxAttempts: 3,
    },
  ]);
  const save = () => started.engine.saveDefinition(definition);
  const send = async (body: Record<string, unknown>) => {
    const outcome = await peers.receive('sms', jsonMessage(body));
    if (outcome.status !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(outcome)}`);
    const id = outcome.messageId;
    const delivery = async () => (await started.engine.getMessage(id))?.destinations[0];
    await waitFor('the delivery to settle', async () => ['sent', 'error'].includes((await delivery())?.state ?? ''));
    return (await delivery())!;
  };
  return { save, send };
}

const text = { to: '+15555550101', text: 'New exam RSO-7 at Valley General: CT head, STAT' };

test('a 500 then a 200 is one retry; the JSON body and the auth header from the environment arrive', async (t) => {
  process.env['TEST_SMS_AUTH'] = 'Bearer sms-secret';
  const gateway = await smsGateway(t, [500]);
  const hub = await setup(t, {
    url: gateway.url,
    authHeader: { valueEnv: 'TEST_SMS_AUTH' },
    body: { destination: '{{to}}', message: '{{text}}', sender: 'RSO' },
  });
  await hub.save();
  const delivery = await hub.send(text);
  t.is(delivery.state, 'sent');
  t.is(delivery.attempts, 2, 'one retry');
  t.regex(delivery.response ?? '', /^200 .*sms-2/);
  t.is(gateway.posts.length, 2);
  t.is(gateway.posts[1]!.headers['authorization'], 'Bearer sms-secret');
  t.deepEqual(JSON.parse(gateway.posts[1]!.body), { destination: text.to, message: text.text, sender: 'RSO' });
});

test('a 4xx fails at once with the gateway answer; a form body is sent as a form', async (t) => {
  const gateway = await smsGateway(t, [422]);
  const hub = await setup(t, { url: gateway.url, format: 'form' });
  await hub.save();
  const delivery = await hub.send(text);
  t.is(delivery.state, 'error');
  t.is(delivery.attempts, 1);
  t.regex(delivery.lastError ?? '', /^422 .*status 422/);
  t.is(gateway.posts[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
  t.deepEqual(Object.fromEntries(new URLSearchParams(gateway.posts[0]!.body)), text);
});

test('a gateway that never answers times out, is retried, and the engine stops cleanly', async (t) => {
  const gateway = await smsGateway(t, [], true);
  const hub = await setup(t, { url: gateway.url, timeoutMs: 200 });
  await hub.save();
  const delivery = await hub.send(text);
  t.is(delivery.state, 'error', 'after maxAttempts');
  t.is(delivery.attempts, 3);
  t.regex(delivery.lastError ?? '', /timeout/);
});

test('a body template with an unknown variable is refused when the channel is saved, with its path', async (t) => {
  const hub = await setup(t, { url: 'http://127.0.0.1:1/send', body: { to: '{{to}}', message: '{{patientName}}' } });
  const error = await t.throwsAsync(hub.save());
  t.regex(
    error?.message ?? '',
    /destinations\[0\]\.connector\.settings\.body\.message: unknown variable 'patientName'/,
  );
});

test('a text to a number that is not E.164 fails with the path', async (t) => {
  const gateway = await smsGateway(t);
  const hub = await setup(t, { url: gateway.url });
  await hub.save();
  const delivery = await hub.send({ to: '555-0101', text: 'x' });
  t.is(delivery.state, 'error');
  t.regex(delivery.lastError ?? '', /content\.to: expected an E\.164 number/);
  t.is(gateway.posts.length, 0);
});
