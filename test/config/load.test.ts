import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../config/load.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'config');
const cwd = path.join(import.meta.dirname, '..', '..');

function load(file: string, env: NodeJS.ProcessEnv = {}) {
  return loadConfig({ HUB_CONFIG: path.join(fixtures, file), ...env }, cwd);
}

test('a valid file is read with every key typed and paths made absolute', async (t) => {
  const config = await load('valid.yaml');
  t.is(config.logLevel, 'warn');
  t.is(config.http.port, 0);
  t.is(config.dataDir, path.join(cwd, 'data-test'));
  t.is(config.store.mongodbUrl, null);
  t.deepEqual(config.auth.tokens[0]?.roles, ['analyst']);
  t.deepEqual(config.auth.tokens[0]?.facilities, ['VALLEYGEN']);
  t.is(config.channels.dir, path.join(cwd, 'config', 'channels'));
  t.like(config.dicom, {
    enabled: true,
    aeTitle: 'RSO_HUB',
    port: 11112,
    storageDir: path.join(cwd, 'data-test', 'dicom'),
    studyQuietSeconds: 30,
    retrieveCacheMiB: 64,
  });
  t.like(config.reports, { pdfThreads: 1, pdfMaxQueued: 64 });
});

test('the shipped config/hub.yaml is valid', async (t) => {
  const config = await loadConfig({}, cwd);
  t.is(config.file, 'config/hub.yaml');
  t.is(config.http.port, 8080);
});

test('environment variables override the file', async (t) => {
  const config = await load('valid.yaml', {
    HUB_HTTP_PORT: '9123',
    HUB_DATA_DIR: '/tmp/hub-data',
    MONGODB_URL: 'mongodb://127.0.0.1:27017/rso',
    LOG_LEVEL: 'debug',
  });
  t.is(config.http.port, 9123);
  t.is(config.dataDir, '/tmp/hub-data');
  t.is(config.store.mongodbUrl, 'mongodb://127.0.0.1:27017/rso');
  t.is(config.logLevel, 'debug');
});

const mistakes: Array<[string, string | NodeJS.ProcessEnv, RegExp]> = [
  ['unknown-key.yaml', {}, /unknown-key\.yaml: http\.prot: unknown key \(expected one of: host, port, tls, limits\)$/],
  ['port-not-a-number.yaml', {}, /port-not-a-number\.yaml: http\.port: expected a port number from 0 to 65535$/],
  ['port-out-of-range.yaml', {}, /port-out-of-range\.yaml: http\.port: expected a port number from 0 to 65535$/],
  ['bad-log-level.yaml', {}, /bad-log-level\.yaml: logLevel: expected one of: debug, info, warn, error$/],
  ['not-yaml.yaml', {}, /not-yaml\.yaml: not valid YAML \(line \d+, column \d+\): /],
  ['plain-token.yaml', {}, /plain-token\.yaml: auth\.tokens\[0\]\.sha256: expected 64 hex digits/],
  ['unknown-role.yaml', {}, /unknown-role\.yaml: auth\.tokens\[0\]\.roles\[0\]: expected one of: admin, /],
  [
    'bad-mongodb-url.yaml',
    {},
    /bad-mongodb-url\.yaml: store\.mongodbUrl: expected a mongodb:\/\/ or mongodb\+srv:\/\/ URL$/,
  ],
  [
    'bad-ae-title.yaml',
    {},
    /bad-ae-title\.yaml: dicom\.aeTitle: expected an AE title: 1 to 16 printable ASCII characters, no backslash$/,
  ],
  ['bad-limit.yaml', {}, /bad-limit\.yaml: http\.limits\.maxConnections: expected a whole number from 1 to 100000$/],
  ['bad-pdf-threads.yaml', {}, /bad-pdf-threads\.yaml: reports\.pdfThreads: expected a whole number from 1 to 64$/],
  [
    'bad-retrieve-cache.yaml',
    {},
    /bad-retrieve-cache\.yaml: dicom\.retrieveCacheMiB: expected a whole number from 0 to 65536$/,
  ],
  [
    'bad-thread-idle.yaml',
    {},
    /bad-thread-idle\.yaml: hub\.threadIdleSeconds: expected a whole number from 0 to 86400$/,
  ],
  [
    'unknown-limit.yaml',
    {},
    /unknown-limit\.yaml: dicom\.limits\.maxAssocations: unknown key \(expected one of: maxAssociations, /,
  ],
  ['tls-without-key.yaml', {}, /tls-without-key\.yaml: http\.tls\.keyFile: required: the PEM private key file$/],
  ['top-level-list.yaml', {}, /top-level-list\.yaml: expected a mapping of settings at the top level$/],
  ['missing.yaml', {}, /missing\.yaml: cannot read the config file \(ENOENT\)$/],
  ['valid.yaml', { HUB_HTTP_PORT: 'http' }, /HUB_HTTP_PORT \(environment\): expected a port number from 0 to 65535$/],
];

for (const [file, env, expected] of mistakes) {
  const envText = typeof env === 'object' && Object.keys(env).length > 0 ? ` with ${Object.keys(env).join(', ')}` : '';
  test(`${file}${envText} is refused with one line naming the file, the key and the problem`, async (t) => {
    const error = await t.throwsAsync(load(file, env as NodeJS.ProcessEnv), { instanceOf: ConfigError });
    t.regex(error?.message ?? '', expected);
    t.false(error?.message.includes('\n'), 'one line');
  });
}

test('hub.workers is 1 by default, a number from 1 to 64, or auto (one per CPU); anything else names the key', async (t) => {
  const config = await loadConfig({}, cwd);
  t.deepEqual(
    config.hub,
    { workers: 1, takeoverSeconds: 30, threadIdleSeconds: 30 },
    'the shipped config runs one process, no supervisor',
  );
  t.is((await load('valid.yaml', { HUB_WORKERS: '3' })).hub.workers, 3);
  t.is((await load('valid.yaml', { HUB_WORKERS: 'auto' })).hub.workers, os.availableParallelism());
  for (const bad of ['0', '65', 'many']) {
    const error = await t.throwsAsync(load('valid.yaml', { HUB_WORKERS: bad }), { instanceOf: ConfigError });
    t.regex(error?.message ?? '', /hub\.workers/);
  }
});
