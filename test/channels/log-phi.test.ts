import test from 'ava';
import path from 'node:path';
import { createLogger, setLogLevel, setLogSink } from '../../runtime/log.ts';
import { TestPeers, channelJson, jsonMessage, peerDestination, startEngine, tempDir, waitFor } from './harness.ts';

test('logs above debug hold no patient data, even when a script error quotes the message', async (t) => {
  const lines: string[] = [];
  setLogSink({ write: (line) => void lines.push(line) });
  setLogLevel('info');
  const tmp = await tempDir('phi');
  const peers = new TestPeers();
  const { engine, close } = await startEngine(peers, path.join(tmp.dir, 'data'), {
    log: createLogger({ test: 'phi' }),
  });
  t.teardown(async () => {
    await close();
    await tmp.remove();
  });
  peers.peer('ris').down = true;
  await engine.saveDefinition(
    channelJson(
      'adt',
      [peerDestination('ris', 'ris', { maxAttempts: 2, retry: { initialDelayMs: 5, maxDelayMs: 5, multiplier: 1 } })],
      {
        map: { script: "if (msg.bad) throw new Error('unknown patient ' + msg.patient.name + ' ' + msg.patientId);" },
      },
    ),
  );
  const patient = { name: 'DOE^JANE', dob: '19700101' };
  const failed = await peers.receive('adt', jsonMessage({ bad: true, patient, patientId: 'MRN-4711' }));
  t.is(failed.status, 'error');
  t.regex(
    failed.status === 'error' ? failed.error : '',
    /DOE\^JANE/,
    'the sender and the message record still get the reason',
  );
  await peers.receive('adt', jsonMessage({ patient, patientId: 'MRN-4711' }));
  await waitFor(
    'the delivery error',
    async () => (await engine.searchMessages({ channelId: 'adt', destination: 'ris', state: 'error' })).total === 1,
  );
  t.true(lines.length > 0, 'the engine did log');
  for (const line of lines) {
    t.false(/DOE|JANE|MRN-4711|19700101/.test(line), line);
  }
});
