// The SCP's limits and TLS against dcmtk: past maxAssociations an association is rejected-transient (local
// limit exceeded, PS3.8 9.3.4) so the SCU retries later, never a failure status for an instance that could be
// stored; over TLS storescu with the CA's client certificate stores, and one from another CA is refused.
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { connect } from 'node:net';
import path from 'node:path';
import { encodeAssociateRq } from '../../dicom/pdu.ts';
import { DicomScp, type ScpOptions, type StoredInstance } from '../../dicom/scp.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { makeCertificates } from '../support/certificates.ts';
import { spec, writeInstance } from './make-instance.ts';
import { removedAfterTests, runTool } from './peers.ts';

setLogLevel('error');
const tempDir = removedAfterTests(test);

async function startScp(
  t: ExecutionContext,
  options: Partial<ScpOptions> = {},
): Promise<{ scp: DicomScp; stored: StoredInstance[] }> {
  const stored: StoredInstance[] = [];
  const scp = new DicomScp({
    aeTitle: 'RSO_HUB',
    host: '127.0.0.1',
    port: 0,
    storageDir: await tempDir('dicom-limits'),
    isKnownCallingAe: (ae) => ae === 'CT_SCANNER',
    onInstanceStored: async (instance) => void stored.push(instance),
    syncStorage: false,
    stopTimeoutMs: 2000,
    ...options,
  });
  await scp.start();
  t.teardown(() => scp.stop());
  return { scp, stored };
}

test('past maxAssociations an association is rejected transient, local limit exceeded, and accepted again once one ends', async (t) => {
  const { scp } = await startScp(t, { maxAssociations: 1 });
  // A raw socket holds the only slot.
  const holder = connect(scp.port, '127.0.0.1');
  await once(holder, 'connect');
  holder.write(
    encodeAssociateRq({
      calledAe: 'RSO_HUB',
      callingAe: 'CT_SCANNER',
      maxPduLength: 16384,
      contexts: [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }],
    }),
  );
  const [ac] = (await once(holder, 'data')) as [Buffer];
  t.is(ac[0], 0x02, 'A-ASSOCIATE-AC');
  const refused = await runTool('echoscu', [
    '-v',
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(scp.port),
  ]);
  const said = `${refused.stdout}${refused.stderr}`;
  t.regex(said, /Association Rejected/);
  t.regex(said, /Result: Rejected Transient/);
  t.regex(said, /Source: Service Provider \(Presentation Related\)/);
  t.regex(said, /Reason: Local limit exceeded/i);
  holder.destroy();
  await once(holder, 'close');
  let accepted = await runTool('echoscu', ['-aet', 'CT_SCANNER', '-aec', 'RSO_HUB', '127.0.0.1', String(scp.port)]);
  // The SCP sees the holder's close a moment after the holder does.
  for (let i = 0; i < 20 && accepted.code !== 0; i++)
    accepted = await runTool('echoscu', ['-aet', 'CT_SCANNER', '-aec', 'RSO_HUB', '127.0.0.1', String(scp.port)]);
  t.is(accepted.code, 0);
});

test('100 parallel storescu associations end with every instance stored or its association rejected, never a failure status', async (t) => {
  const { scp, stored } = await startScp(t, { maxAssociations: 10 });
  const dir = await tempDir('dicom-parallel');
  const files: string[] = [];
  for (let i = 0; i < 100; i++) {
    const file = path.join(dir, `i${i}.dcm`);
    await writeInstance(file, spec({ pixelBytes: 16 * 1024 }));
    files.push(file);
  }
  const results = await Promise.all(
    files.map((file) =>
      runTool('storescu', ['-v', '-aet', 'CT_SCANNER', '-aec', 'RSO_HUB', '127.0.0.1', String(scp.port), file]),
    ),
  );
  let storedCount = 0;
  let rejected = 0;
  for (const result of results) {
    const said = `${result.stdout}${result.stderr}`;
    t.notRegex(said, /Received Store Response \((?!Success)/, 'no failure status for a good instance');
    if (/Received Store Response \(Success\)/.test(said)) storedCount++;
    else if (/Association Rejected[\s\S]*Rejected Transient/.test(said)) rejected++;
  }
  t.is(storedCount + rejected, 100);
  t.is(stored.length, storedCount);
  t.true(storedCount >= 10);
});

test('over TLS storescu with a client certificate of the configured CA stores; one from another CA is refused', async (t) => {
  const c = await makeCertificates();
  const { scp, stored } = await startScp(t, {
    tls: { certFile: c.serverCert, keyFile: c.serverKey, caFile: c.caFile },
  });
  const file = path.join(await tempDir('dicom-tls'), 'ct.dcm');
  await writeInstance(file, spec({ pixelBytes: 8 * 1024 }));
  const good = await runTool('storescu', [
    '-v',
    '+tls',
    c.clientKey,
    c.clientCert,
    '+cf',
    c.caFile,
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(scp.port),
    file,
  ]);
  t.regex(`${good.stdout}${good.stderr}`, /Received Store Response \(Success\)/);
  t.is(stored.length, 1);
  const stranger = await runTool('storescu', [
    '-v',
    '+tls',
    c.strangerKey,
    c.strangerCert,
    '+cf',
    c.caFile,
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(scp.port),
    file,
  ]);
  t.not(stranger.code, 0);
  t.notRegex(`${stranger.stdout}${stranger.stderr}`, /Received Store Response/);
  t.is(stored.length, 1);
  const plain = await runTool('storescu', [
    '-aet',
    'CT_SCANNER',
    '-aec',
    'RSO_HUB',
    '127.0.0.1',
    String(scp.port),
    file,
  ]);
  t.not(plain.code, 0, 'plain TCP to a TLS listener fails');
  t.is(stored.length, 1);
});
