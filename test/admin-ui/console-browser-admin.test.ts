// The rest of the console's workflow in Debian's Chromium against a real hub: wrong passwords until the sign-in
// locks, sign-out ending the session on the hub, a channel tested with a sample ORM (the mapped output per
// destination, nothing stored), and a user limited to one facility who sees that facility and its messages only
// (the facility editor has its own file, facility-form-browser.test.ts). Screenshots land in artifacts/console/.
import test from 'ava';
import { fixture } from '../hl7/mllp-peer.ts';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { withControlId } from '../support/channels.ts';
import { firstAdminPassword, startConsoleHub } from '../support/console-hub.ts';
import { api, defaultTestConfig } from '../support/hub-process.ts';

/** One free wrong password, then the pair (user, address) is locked for ten minutes. */
const strictSignIn = defaultTestConfig.replace(
  'auth:\n',
  'auth:\n  signIn:\n    freeFailures: 1\n    maxFailures: 2\n    lockSeconds: 600\n',
);

const facility = (code: string, name: string, msh4: string, ae: string) => ({
  code,
  name,
  aeTitles: [ae],
  sendingFacilities: [msh4],
  technicians: [],
  radiologists: [],
  reportDestinations: {},
  billingRules: [],
  active: true,
});

async function createUser(hub: Parameters<typeof api>[0], user: Record<string, unknown>) {
  const created = await api(hub, '/api/users', { method: 'POST', body: JSON.stringify(user) });
  if (created.status !== 201) throw new Error(`user not created: ${created.status} ${await created.text()}`);
}

test('wrong passwords lock the sign-in, and signing out ends the session on the hub', async (t) => {
  const { hub } = await startConsoleHub(t, { config: strictSignIn });
  await createUser(hub, { username: 'sam', name: 'Sam Analyst', roles: ['analyst'], password: 'first password' });
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);

  await page.goto(hub.url('/'));
  const attempt = async (password: string) => {
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel(/^Password/).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  await attempt('guess one');
  await page.getByRole('alert').filter({ hasText: 'The user name or password is wrong.' }).waitFor();
  await attempt('guess two');
  await page.getByRole('alert').filter({ hasText: 'The user name or password is wrong.' }).waitFor();
  // Locked now: the right password is not even heard.
  await attempt(await firstAdminPassword(hub));
  const locked = page.getByRole('alert').filter({ hasText: 'Too many wrong passwords' });
  await locked.waitFor();
  t.regex((await locked.textContent()) ?? '', /Try again in 10 min\./);
  t.is(await page.getByTestId('signed-in-user').count(), 0);
  await screenshot(page, '20-sign-in-locked');

  // The lock is per user: another user signs in from the same browser, then signs out.
  await signIn(page, hub.url('/'), 'sam', 'first password', 'sam signs in');
  const session = await page.context().cookies(hub.url('/'));
  const cookie = session.map((c) => `${c.name}=${c.value}`).join('; ');
  t.is((await fetch(hub.url('/api/session'), { headers: { cookie } })).status, 200);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to the RSO hub' }).waitFor();
  await screenshot(page, '21-signed-out');
  t.is((await fetch(hub.url('/api/session'), { headers: { cookie } })).status, 401, 'the old cookie is dead');
  t.is((await fetch(hub.url('/api/channels'), { headers: { cookie } })).status, 401);
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in to the RSO hub' }).waitFor();

  t.deepEqual(unexpected(problems, [401, 429]), []);
});

test('an analyst tests a channel with a sample ORM and sees the mapped output per destination', async (t) => {
  const { hub } = await startConsoleHub(t);
  await createUser(hub, { username: 'ana', name: 'Ana Analyst', roles: ['analyst'], password: 'first password' });
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, hub.url('/'), 'ana', 'first password', 'ana tests channels');

  await page.getByRole('link', { name: 'Channels' }).click();
  await page.getByTestId('channel-row-relay').getByRole('link', { name: 'relay relay' }).click();
  const editor = page.getByLabel('Channel definition (JSON)');
  await editor.waitFor();
  // Unsaved edits: the EHR gets MSH-5 set, and a second destination takes inpatients only.
  const definition = JSON.parse(await editor.inputValue()) as { destinations: Array<Record<string, unknown>> };
  const ehr = definition.destinations[0]!;
  ehr['map'] = { mappings: [{ target: 'MSH-5', value: 'VALLEY EHR' }] };
  definition.destinations.push({ ...ehr, name: 'ward', filter: { path: 'PV1-2', operator: 'eq', value: 'I' } });
  await editor.fill(JSON.stringify(definition, null, 2));

  await page.getByRole('tab', { name: 'Test a message' }).click();
  const orm = (await fixture('orm-o01.hl7')).toString('latin1').replace(/\r/g, '\n');
  await page.getByLabel('Sample message').fill(orm);
  await page.getByRole('button', { name: 'Run the test' }).click();
  const steps = page.getByTestId('dry-run-step');
  await page.getByTestId('dry-run-result').waitFor();
  t.is(await steps.count(), 3);
  const toEhr = steps.filter({ hasText: 'Destination ehr' });
  t.regex((await toEhr.textContent()) ?? '', /accepted/);
  t.regex(
    (await toEhr.locator('pre, code').first().textContent()) ?? '',
    /^MSH\|\^~\\&\|RIS\|NORTH CLINIC\|VALLEY EHR\|/,
  );
  const toWard = steps.filter({ hasText: 'Destination ward' });
  t.regex((await toWard.textContent()) ?? '', /filtered out/);
  await screenshot(page, '22-channel-test');

  const stored = (await (await api(hub, '/api/messages')).json()) as { total: number };
  t.is(stored.total, 0, 'a test stores nothing');
  t.deepEqual(unexpected(problems, [401]), []);
});

test("a user limited to one facility sees that facility and its messages, and nothing of the engine's", async (t) => {
  const { hub, client } = await startConsoleHub(t, {
    facilities: [
      facility('VALLEYGEN', 'Valley General', 'VALLEYGEN', 'VALLEY_CT'),
      facility('NORTH', 'North Clinic', 'NORTH CLINIC', 'NORTH_CT'),
    ],
  });
  const orm = await fixture('orm-o01.hl7');
  t.is((await client.exchange(withControlId(orm, 'NORTH0001'))).get('MSA-1'), 'AA');
  const valley = Buffer.from(orm.toString('latin1').replace('|NORTH CLINIC|', '|VALLEYGEN|'), 'latin1');
  t.is((await client.exchange(withControlId(valley, 'VALLEY0001'))).get('MSA-1'), 'AA');
  await createUser(hub, {
    username: 'carla',
    name: 'Carla Client',
    roles: ['client-admin'],
    facilities: ['VALLEYGEN'],
    password: 'first password',
  });
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, hub.url('/'), 'carla', 'first password', 'carla sees valley');

  // The engine's sections are not offered (a client admin has the facility's work areas instead); the console
  // opens on the facility's messages.
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await nav.getByRole('link', { name: 'Messages' }).waitFor();
  const offered = await nav.getByRole('link').allTextContents();
  t.deepEqual(offered.slice(-2), ['Messages', 'Facilities']);
  for (const engine of ['Dashboard', 'Channels', 'Queues', 'Users', 'Audit log'])
    t.false(offered.includes(engine), engine);
  await page.getByTestId('message-row').first().waitFor();
  t.is(await page.getByTestId('message-row').count(), 1);
  t.regex((await page.getByTestId('message-row').textContent()) ?? '', /VALLEY0001/);
  t.true(await page.getByText('VALLEYGEN', { exact: true }).first().isVisible(), 'the header names the facility');
  await screenshot(page, '25-facility-user-messages');

  await nav.getByRole('link', { name: 'Facilities' }).click();
  await page.getByRole('cell', { name: 'Valley General' }).waitFor();
  t.is(await page.getByRole('cell', { name: 'North Clinic' }).count(), 0);
  t.is(await page.getByRole('button', { name: 'New facility' }).count(), 0, 'only an unlimited admin adds one');
  await screenshot(page, '26-facility-user-facilities');

  // Another facility's message, by its address, is not found; the engine's API refuses the user.
  const north = (await (await api(hub, '/api/messages?controlId=NORTH0001')).json()) as {
    items: Array<{ _id: string }>;
  };
  await page.goto(hub.url(`/messages/${north.items[0]?._id}`));
  await page.getByRole('alert').waitFor();
  t.notRegex(await page.content(), /NORTH0001/);
  await screenshot(page, '27-facility-user-other-message');
  const statuses = await page.evaluate(async () =>
    Promise.all(['/api/dashboard', '/api/channels', '/api/queues'].map(async (p) => (await fetch(p)).status)),
  );
  t.deepEqual(statuses, [403, 403, 403]);
  t.deepEqual(unexpected(problems, [401, 403, 404]), []);
});
