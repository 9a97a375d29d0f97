// The `upload` section of hub.yaml: what an operator gets wrong is refused at start with the key and the reason,
// above all a password written where its hash belongs; and a port already in use stops the hub with one line.
import { createServer } from 'node:net';
import { once } from 'node:events';
import test from 'ava';
import { parseUploadConfig } from '../../config/upload-config.ts';
import { defaultTestConfig, startHub } from '../support/hub-process.ts';
import { hashPassword, verifyPassword } from '../../upload/password-hash.ts';

const dataDir = '/var/lib/rso';

test('a password in place of its hash is refused, naming the account', (t) => {
  const error = t.throws(() =>
    parseUploadConfig({ accounts: [{ user: 'tech1', facility: 'VALLEYGEN', passwordHash: 'hunter2' }] }, dataDir),
  );
  t.regex(error.message, /^upload\.accounts\[0\]\.passwordHash: expected a scrypt hash/);
});

test('an account needs a password hash or a key, a folder-safe name and its own name', (t) => {
  t.throws(() => parseUploadConfig({ accounts: [{ user: 'tech1', facility: 'V' }] }, dataDir), {
    message: /upload\.accounts\[0\]: an account needs a passwordHash or publicKeys/,
  });
  t.throws(() => parseUploadConfig({ accounts: [{ user: '../x', facility: 'V', publicKeys: [] }] }, dataDir), {
    message: /upload\.accounts\[0\]\.user/,
  });
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr5ZsXNxKmXMbLb5Td/1FQm0g7S4XGyWzMF4VYvUhvU a@b';
  t.throws(
    () =>
      parseUploadConfig(
        {
          accounts: [
            { user: 'a', facility: 'V', publicKeys: [key] },
            { user: 'a', facility: 'V', publicKeys: [key] },
          ],
        },
        dataDir,
      ),
    { message: /upload\.accounts\[1\]\.user: used twice/ },
  );
});

test('passive ports are a range, and unknown keys are refused', (t) => {
  t.throws(() => parseUploadConfig({ ftps: { passivePorts: '6000-5000' } }, dataDir), {
    message: /upload\.ftps\.passivePorts/,
  });
  t.throws(() => parseUploadConfig({ sftp: { password: 'x' } }, dataDir), { message: /upload\.sftp/ });
  const config = parseUploadConfig({}, dataDir);
  t.false(config.sftp.enabled);
  t.is(config.dir, '/var/lib/rso/uploads');
});

test('a hash made by password-hash.ts verifies its password and no other', async (t) => {
  const hash = await hashPassword('s3cret', 10);
  t.notThrows(() => parseUploadConfig({ accounts: [{ user: 'u', facility: 'V', passwordHash: hash }] }, dataDir));
  t.true(await verifyPassword('s3cret', hash));
  t.false(await verifyPassword('s3cret ', hash));
});

test('an SFTP port in use stops the hub with one line naming the key', async (t) => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const port = (blocker.address() as { port: number }).port;
  try {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr5ZsXNxKmXMbLb5Td/1FQm0g7S4XGyWzMF4VYvUhvU a@b';
    const config = `${defaultTestConfig}upload:
  accounts: [{ user: tech1, facility: VALLEYGEN, publicKeys: ["${key}"] }]
  sftp: { enabled: true, port: ${port} }
`;
    const hub = await startHub({ config });
    t.is(await hub.exited, 1);
    t.regex(
      hub.stderr(),
      new RegExp(
        `^rso-hub: .*hub\\.yaml: upload\\.sftp\\.port: 127\\.0\\.0\\.1:${port}: the port is already in use\\n$`,
      ),
    );
  } finally {
    blocker.close();
  }
});
