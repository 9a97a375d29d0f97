// Least privilege on the routes every hub has, through the real hub process: /metrics is for the hub's operators
// and a scrape job, not for a facility's token; /health tells an anonymous caller only up or down.
import test from 'ava';
import { defaultTestConfig, startHub, stopHub, waitHealthy, type HubProcess } from '../support/hub-process.ts';

// sha256 of "scrape-token", "facility-token", "analyst-token".
const config = defaultTestConfig.replace(
  'auth:\n  tokens:\n',
  `auth:
  tokens:
    - name: prometheus
      sha256: 41369aae32e5cc50e94b626f9f49cef39b6a57243708bcaa06662f19bdae5483
      roles: [metrics]
    - name: valley-admin
      sha256: 07c69446bae306ee977b828b85e8a41aa0ba670df1ddd9069a7e10e3221550aa
      roles: [client-admin, admin]
      facilities: [VALLEYGEN]
    - name: analyst
      sha256: 06ff3913469cdb533bd93c0701fee774bbf18c48e01cdfc413a17b69dbea0764
      roles: [analyst]
`,
);

let hub: HubProcess;

test.before(async () => {
  hub = await startHub({ config });
  await waitHealthy(hub);
});

test.after.always(async () => {
  if (hub) await stopHub(hub, 'SIGKILL');
});

function get(pathname: string, token?: string): Promise<Response> {
  return fetch(hub.url(pathname), token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
}

test('/metrics is read by a scrape token, an analyst and an admin, and refused to a facility-limited token', async (t) => {
  t.is((await get('/metrics', 'scrape-token')).status, 200);
  t.is((await get('/metrics', 'analyst-token')).status, 200);
  t.is((await get('/metrics', 'test-admin-token')).status, 200);
  const facility = await get('/metrics', 'facility-token');
  t.is(facility.status, 403);
  t.is(facility.headers.get('content-type'), 'application/problem+json');
  t.notRegex(await facility.text(), /hub_/);
  t.is((await get('/metrics')).status, 401);
});

test('the scrape token reads metrics and nothing else', async (t) => {
  t.is((await get('/api/channels', 'scrape-token')).status, 403);
  t.is((await get('/api/exceptions', 'scrape-token')).status, 403);
  const fhir = await get('/fhir/R4/Patient', 'scrape-token');
  t.is(fhir.status, 403);
  t.like(await fhir.json(), { resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
});

test('/health says only up or down to an anonymous caller; its details need a token that may monitor the hub', async (t) => {
  const anonymous = await get('/health');
  t.is(anonymous.status, 200);
  t.deepEqual(await anonymous.json(), { status: 'ok' });
  t.deepEqual(await (await get('/health', 'not-a-token')).json(), { status: 'ok' });
  t.deepEqual(await (await get('/health', 'facility-token')).json(), { status: 'ok' });
  const detailed = (await (await get('/health', 'scrape-token')).json()) as { status: string; store: { ok: boolean } };
  t.is(detailed.status, 'ok');
  t.deepEqual(detailed.store, { ok: true, engine: 'embedded' });
});
