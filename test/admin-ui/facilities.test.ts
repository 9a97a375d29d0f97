// Facilities in the console: created and edited with the seed files' validation (a bad AE title refused at its
// path), a client admin limited to its own facility, deletion, and before/after in the audit trail.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { api, defaultTestConfig, repoRoot, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

// sha256 of "lakeside-admin-token": the client admin of Lakeside only.
const config = defaultTestConfig.replace(
  'auth:\n  tokens:\n',
  'auth:\n  tokens:\n    - name: lakeside-admin\n      sha256: 26588d282a936fe58fb8bc90af76e691002c8fd2a134fc36df8bfd76f84068d4\n      roles: [client-admin]\n      facilities: [LAKESIDE]\n',
);

const asLakeside = (init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { authorization: 'Bearer lakeside-admin-token', 'content-type': 'application/json' },
});

test('facilities are created, refused at the field, edited by their client admin, audited and deleted', async (t) => {
  const valley = JSON.parse(await readFile(path.join(repoRoot, 'config/facilities/valley-general.json'), 'utf8'));
  const hub = await startHub({ config, facilities: [valley] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const lakeside = {
    ...valley,
    code: 'LAKESIDE',
    name: 'Lakeside Clinic',
    aeTitles: ['LAKE_CT'],
    sendingFacilities: ['LAKESIDE'],
  };

  const badAe = await api(hub, '/api/facilities', {
    method: 'POST',
    body: JSON.stringify({ ...lakeside, aeTitles: ['LAKE_CT', 'A_TITLE_FAR_TOO_LONG'] }),
  });
  t.is(badAe.status, 400);
  t.like(await badAe.json(), { path: 'aeTitles[1]' });
  const created = await api(hub, '/api/facilities', { method: 'POST', body: JSON.stringify(lakeside) });
  t.is(created.status, 201);
  t.like(await created.json(), { code: 'LAKESIDE', aeTitles: ['LAKE_CT'] });
  t.is((await api(hub, '/api/facilities', { method: 'POST', body: JSON.stringify(lakeside) })).status, 409);
  const all = (await (await api(hub, '/api/facilities')).json()) as Array<{ code: string }>;
  t.deepEqual(
    all.map((f) => f.code),
    ['LAKESIDE', 'VALLEYGEN'],
  );

  const own = (await (await fetch(hub.url('/api/facilities'), asLakeside())).json()) as Array<{ code: string }>;
  t.deepEqual(
    own.map((f) => f.code),
    ['LAKESIDE'],
    'a client admin sees its own facility only',
  );
  t.is((await fetch(hub.url('/api/facilities/VALLEYGEN'), asLakeside())).status, 404);
  const renamed = { ...lakeside, name: 'Lakeside Community Clinic' };
  const edited = await fetch(
    hub.url('/api/facilities/LAKESIDE'),
    asLakeside({ method: 'PUT', body: JSON.stringify(renamed) }),
  );
  t.is(edited.status, 200);
  t.like(await edited.json(), { name: 'Lakeside Community Clinic' });
  const other = await fetch(
    hub.url('/api/facilities/VALLEYGEN'),
    asLakeside({ method: 'PUT', body: JSON.stringify(valley) }),
  );
  t.is(other.status, 403);
  t.is(
    (await fetch(hub.url('/api/facilities'), asLakeside({ method: 'POST', body: JSON.stringify(lakeside) }))).status,
    403,
  );
  const mismatch = await api(hub, '/api/facilities/LAKESIDE', { method: 'PUT', body: JSON.stringify(valley) });
  t.like(await mismatch.json(), { status: 400, path: 'code' });
  const badEdit = await api(hub, '/api/facilities/LAKESIDE', {
    method: 'PUT',
    body: JSON.stringify({ ...renamed, radiologistPacs: { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: 'x' } }),
  });
  t.like(await badEdit.json(), { status: 400, path: 'radiologistPacs.port' });

  const { items } = (await (await api(hub, '/api/audit?target=facility:LAKESIDE')).json()) as {
    items: Array<{ user: string; action: string; before: { name?: string } | null; after: { name?: string } | null }>;
  };
  t.like(items, [
    {
      user: 'lakeside-admin',
      action: 'facility.update',
      before: { name: 'Lakeside Clinic' },
      after: { name: 'Lakeside Community Clinic' },
    },
    { user: 'test-admin', action: 'facility.create', before: null },
  ]);

  t.is((await fetch(hub.url('/api/facilities/LAKESIDE'), asLakeside({ method: 'DELETE' }))).status, 403);
  t.is((await api(hub, '/api/facilities/LAKESIDE', { method: 'DELETE' })).status, 204);
  t.is((await api(hub, '/api/facilities/LAKESIDE')).status, 404);
  t.is((await api(hub, '/api/facilities/LAKESIDE', { method: 'DELETE' })).status, 404);
});
