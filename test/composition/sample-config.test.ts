// What `npm start` deploys: every sample channel in config/channels is a valid definition for the hub's full
// set of connectors, and every sample facility loads.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { parseChannelDefinition } from '../../channels/definition-schema.ts';
import { defaultStopTimeoutMs } from '../../channels/engine.ts';
import { hubRegistry } from '../../composition/connectors.ts';
import { loadConfig } from '../../config/load.ts';
import { parseFacility } from '../../exams/facility.ts';
import { openTestHub, repoRoot } from '../exams/setup.ts';

const channelsDir = path.join(repoRoot, 'config', 'channels');

test('every sample channel is valid for the hub registry', async (t) => {
  const { exams } = await openTestHub(t);
  const registry = hubRegistry(exams);
  const files = (await readdir(channelsDir)).filter((f) => f.endsWith('.json'));
  t.true(files.length > 0);
  for (const file of files) {
    const input: unknown = JSON.parse(await readFile(path.join(channelsDir, file), 'utf8'));
    const definition = parseChannelDefinition(input, registry);
    t.is(`${definition.id}.json`, file, 'a sample channel file is named for its id');
  }
});

test('the sample orders channel takes orders on 6661 into exams and copies them to the RIS on 6662', async (t) => {
  const { exams } = await openTestHub(t);
  const input: unknown = JSON.parse(await readFile(path.join(channelsDir, 'orders-mllp.json'), 'utf8'));
  const definition = parseChannelDefinition(input, hubRegistry(exams));
  t.like(definition.source, { type: 'mllp', settings: { host: '127.0.0.1', port: 6661 } });
  t.deepEqual(
    definition.destinations.map((d) => d.connector.type),
    ['rso-exams', 'mllp'],
  );
  t.like(definition.destinations[1]?.connector.settings, { host: '127.0.0.1', port: 6662 });
});

test('the sample facility loads with its AE titles and MSH-4 code', async (t) => {
  const { exams } = await openTestHub(t);
  const facility = await exams.facilities.findBySendingFacility('VALLEYGEN');
  t.truthy(facility);
  t.like(await exams.facilities.findByAeTitle('VALLEY_CT'), { code: 'VALLEYGEN' });
});

// docker-compose.yml cannot run here (no container runtime), so its hub config and seed files are checked the way
// the hub would check them at start.
const composeDir = path.join(repoRoot, 'deploy', 'compose');

test('the docker-compose hub config loads: MongoDB from the environment, listeners on all interfaces', async (t) => {
  const env = {
    HUB_CONFIG: path.join(composeDir, 'hub.yaml'),
    MONGODB_URL: 'mongodb://mongo1:27017/rso?replicaSet=rs0',
  };
  const config = await loadConfig(env, repoRoot);
  t.is(config.store.mongodbUrl, env.MONGODB_URL);
  t.is(config.http.host, '0.0.0.0');
  t.is(config.dicom.host, '0.0.0.0');
  t.is(config.channels.dir, path.join(composeDir, 'channels'));
});

test('the docker-compose channels and facility are valid and route studies to the Orthanc service', async (t) => {
  const { exams } = await openTestHub(t);
  const registry = hubRegistry(exams);
  for (const file of await readdir(path.join(composeDir, 'channels'))) {
    const input: unknown = JSON.parse(await readFile(path.join(composeDir, 'channels', file), 'utf8'));
    t.is(`${parseChannelDefinition(input, registry).id}.json`, file);
  }
  const facility = parseFacility(
    JSON.parse(await readFile(path.join(composeDir, 'facilities', 'valley-general.json'), 'utf8')),
  );
  t.like(facility.radiologistPacs, { host: 'orthanc', port: 4242, aeTitle: 'RSO_PACS' });
});

test('docker-compose gives each hub longer to stop than a destination waits for its delivery in flight', async (t) => {
  // Docker's default is 10 s, then SIGKILL: the hub would be killed while it still waits, and what was in
  // flight would be sent again after the restart.
  const compose = parse(await readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { stop_grace_period?: string }>;
  };
  for (const name of ['hub1', 'hub2']) {
    const grace = /^(\d+)s$/.exec(compose.services[name]?.stop_grace_period ?? '');
    t.truthy(grace, `${name} sets stop_grace_period in seconds`);
    t.true(Number(grace?.[1]) * 1000 >= 2 * defaultStopTimeoutMs, `${name}: ${grace?.[1]} s`);
  }
});
