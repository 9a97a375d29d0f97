// The message browser over real MLLP traffic: cursor paging newest first, free text and filters, an NDJSON export
// of a selection, and a user limited to one facility who sees only the messages that facility sent.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { fixture, MllpTestClient, MllpTestListener } from '../hl7/mllp-peer.ts';
import { mllpRelayChannel } from '../support/channels.ts';
import { api, defaultTestConfig, freePort, repoRoot, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

// sha256 of "limited-token": an integration user limited to Valley General.
const config = defaultTestConfig.replace(
  'auth:\n  tokens:\n',
  'auth:\n  tokens:\n    - name: valley-integration\n      sha256: bbde8d72b38e2bae5b127e234e5e66230d265a7e382c01a553c8e8642805858d\n      roles: [integration]\n      facilities: [VALLEYGEN]\n',
);

interface Page {
  items: Array<{ _id: string; controlId: string; sendingFacility?: string; accession?: string }>;
  next: string | null;
  total?: number;
}

async function page(response: Response): Promise<Page> {
  if (response.status !== 200) throw new Error(`${response.status}: ${await response.text()}`);
  return (await response.json()) as Page;
}

test('the browser pages by cursor, searches text and filters, exports a selection, and scopes by facility', async (t) => {
  const [inPort, outPort] = [await freePort(), await freePort()];
  const ehr = await MllpTestListener.start(() => 'AA', outPort);
  t.teardown(() => void ehr.stop());
  const valley = JSON.parse(await readFile(path.join(repoRoot, 'config/facilities/valley-general.json'), 'utf8'));
  const hub = await startHub({ channels: [mllpRelayChannel('relay', inPort, outPort)], config, facilities: [valley] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const client = await MllpTestClient.connect(inPort);
  t.teardown(() => void client.close());
  const orm = (await fixture('orm-o01.hl7')).toString('latin1');
  const sent: string[] = [];
  for (let n = 1; n <= 5; n++) {
    const facility = n % 2 === 0 ? 'VALLEYGEN' : 'NORTH CLINIC';
    const text = orm
      .replace('|MSG00001|', `|BROWSE${n}|`)
      .replace('|NORTH CLINIC|', `|${facility}|`)
      .replace('ACC778899', `ACC-${n}`);
    t.is((await client.exchange(Buffer.from(text, 'latin1'))).get('MSA-1'), 'AA');
    sent.push(`BROWSE${n}`);
  }

  const seen: string[] = [];
  let cursor: string | null = null;
  let first = true;
  do {
    const query: string = cursor === null ? '' : `&cursor=${cursor}`;
    const current = await page(await api(hub, `/api/messages?channelId=relay&limit=2${query}`));
    if (first) t.is(current.total, 5);
    else t.is(current.total, undefined, 'a later page is not counted again');
    first = false;
    seen.push(...current.items.map((m) => m.controlId));
    cursor = current.next;
  } while (cursor !== null);
  t.deepEqual(seen, [...sent].reverse(), 'every message once, newest first');

  const byAccession = await page(await api(hub, '/api/messages?text=ACC-3'));
  t.deepEqual(
    byAccession.items.map((m) => m.controlId),
    ['BROWSE3'],
  );
  const byRawText = await page(await api(hub, '/api/messages?text=SWELLING&limit=10'));
  t.is(byRawText.items.length, 5, 'free text matches the raw content, whatever its case');
  const future = new Date(Date.now() + 3_600_000).toISOString();
  t.is((await page(await api(hub, `/api/messages?receivedFrom=${future}`))).items.length, 0);
  t.is((await page(await api(hub, '/api/messages?state=error'))).items.length, 0);
  const badCursor = await api(hub, '/api/messages?cursor=xyz');
  t.like(await badCursor.json(), { status: 400, path: 'cursor' });
  t.like(await (await api(hub, '/api/messages?limit=501')).json(), { status: 400, path: 'limit' });

  const all = await page(await api(hub, '/api/messages?limit=10'));
  const chosen = all.items.slice(0, 2).map((m) => m._id);
  const exported = await api(hub, `/api/messages/export?ids=${chosen.join(',')}`);
  t.is(exported.headers.get('content-type'), 'application/x-ndjson');
  t.regex(exported.headers.get('content-disposition') ?? '', /attachment; filename="messages-.*\.ndjson"/);
  const lines = (await exported.text()).trimEnd().split('\n');
  t.deepEqual(
    lines.map((line) => (JSON.parse(line) as { _id: string })._id),
    chosen,
  );
  t.regex((JSON.parse(lines[0]!) as { raw: string }).raw, /^MSH\|/);
  const byFilter = await api(hub, '/api/messages/export?text=ACC-1');
  t.is((await byFilter.text()).trimEnd().split('\n').length, 1);
  t.like(await (await api(hub, `/api/messages/export?ids=${'a'.repeat(24)},x`)).json(), { status: 400, path: 'ids' });

  const limited = { headers: { authorization: 'Bearer limited-token' } };
  const valleyOnly = await page(await fetch(hub.url('/api/messages?limit=10'), limited));
  t.deepEqual(
    valleyOnly.items.map((m) => `${m.controlId} ${m.sendingFacility}`),
    ['BROWSE4 VALLEYGEN', 'BROWSE2 VALLEYGEN'],
  );
  t.is(valleyOnly.total, 2);
  const north = all.items.find((m) => m.sendingFacility === 'NORTH CLINIC')!;
  t.is((await fetch(hub.url(`/api/messages/${north._id}`), limited)).status, 404);
  t.is((await fetch(hub.url(`/api/messages/${valleyOnly.items[0]!._id}`), limited)).status, 200);
  const scopedExport = await fetch(
    hub.url(`/api/messages/export?ids=${north._id},${valleyOnly.items[0]!._id}`),
    limited,
  );
  t.is((await scopedExport.text()).trimEnd().split('\n').length, 1, 'the export is scoped too');

  const audit = (await (await api(hub, '/api/audit?action=message.export')).json()) as { items: unknown[] };
  t.is(audit.items.length, 3, 'each export, not the refused one');
});
