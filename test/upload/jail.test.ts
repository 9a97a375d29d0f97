// An account's folder as its own root: paths are read inside it, `..` past its top is refused (not clamped), and no
// symbolic link inside it is followed.
import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { Jail, JailError } from '../../upload/jail.ts';

test('paths are read inside the folder, relative to the current one', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'rso-jail-'));
  const jail = new Jail(root);
  t.deepEqual(await jail.resolve('a/./b/../c.dcm', '/ct'), {
    virtual: '/ct/a/c.dcm',
    real: path.join(root, 'ct/a/c.dcm'),
  });
  t.deepEqual(await jail.resolve('/etc/passwd'), { virtual: '/etc/passwd', real: path.join(root, 'etc/passwd') });
});

test('.. past the top, NUL bytes and symbolic links are refused', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'rso-jail-'));
  const jail = new Jail(root);
  await t.throwsAsync(jail.resolve('../x'), { instanceOf: JailError });
  await t.throwsAsync(jail.resolve('x', '/../..'), { instanceOf: JailError });
  await t.throwsAsync(jail.resolve('/a/../../x'), { instanceOf: JailError });
  await t.throwsAsync(jail.resolve('a\u0000b'), { instanceOf: JailError });
  await mkdir(path.join(root, 'dir'));
  await symlink(os.tmpdir(), path.join(root, 'dir', 'out'));
  await t.throwsAsync(jail.resolve('/dir/out/x.dcm'), { message: 'symbolic links are not followed' });
  await t.throwsAsync(jail.resolve('/dir/out'), { message: 'symbolic links are not followed' });
});
