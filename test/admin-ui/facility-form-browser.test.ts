// The facility editor in Debian's Chromium against a real hub: an admin creates a facility with a bad AE title
// and sees the hub's refusal under that AE title's input, fixes it and saves; an admin edits a seeded facility in
// the form (a technician's bad phone number refused in its row) and the keys the form does not show survive; a
// read-only user opens the same form with nothing to change. Screenshots land in artifacts/console/.
import test from 'ava';
import type { Page } from 'playwright-core';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { startConsoleHub } from '../support/console-hub.ts';
import { api } from '../support/hub-process.ts';

const valley = {
  code: 'VALLEYGEN',
  name: 'Valley General',
  aeTitles: ['VALLEY_CT'],
  sendingFacilities: ['VALLEYGEN'],
  technicians: [{ id: 'tech-maria', name: 'Maria Lopez', phone: '+15555550101', notify: ['sms'] }],
  radiologists: [],
  radiologistPacs: { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: 4242 },
  moveDestinations: [{ aeTitle: 'VALLEY_PACS', host: '127.0.0.1', port: 11113 }],
  coercion: { patientIdFromExamNumber: true },
  reportDestinations: { fax: '+15555550199' },
  billingRules: [{ modality: 'CT', amount: 60, currency: 'USD' }],
  active: true,
};

/** A text input by its accessible name (a required field's label also shows an asterisk). */
const box = (page: Page, name: string) => page.getByRole('textbox', { name, exact: true });

async function createUser(hub: Parameters<typeof api>[0], user: Record<string, unknown>) {
  const created = await api(hub, '/api/users', { method: 'POST', body: JSON.stringify(user) });
  if (created.status !== 201) throw new Error(`user not created: ${created.status} ${await created.text()}`);
}

async function facilityOf(hub: Parameters<typeof api>[0], code: string): Promise<Record<string, unknown>> {
  const answer = await api(hub, `/api/facilities/${code}`);
  if (answer.status !== 200) throw new Error(`facility ${code}: ${answer.status}`);
  return (await answer.json()) as Record<string, unknown>;
}

test('an admin creating a facility with a bad AE title is refused at that field, fixes it and saves', async (t) => {
  const { hub } = await startConsoleHub(t);
  await createUser(hub, { username: 'ada', name: 'Ada Admin', roles: ['admin'], password: 'first password' });
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, hub.url('/'), 'ada', 'first password', 'ada adds facilities');

  await page.getByRole('link', { name: 'Facilities' }).click();
  await page.getByRole('button', { name: 'New facility' }).click();
  await box(page, 'Code').fill('HILLSIDE');
  await box(page, 'Name').fill('Hillside Imaging');
  await page.getByRole('button', { name: 'Add AE title' }).click();
  await box(page, 'AE title 1').fill('HILLSIDE IMAGING CT1');
  await page.getByRole('button', { name: 'Add MSH-4 code' }).click();
  await box(page, 'MSH-4 code 1').fill('HILLSIDE');
  await screenshot(page, '30-facility-form-new');
  await page.getByRole('button', { name: 'Create facility' }).click();

  // The refusal is under the AE title's own input, which has the cursor, and the input says it is invalid.
  const aeTitle = box(page, 'AE title 1');
  await page.getByRole('alert').filter({ hasText: 'The hub refused this facility' }).waitFor();
  t.is(await aeTitle.getAttribute('aria-invalid'), 'true');
  const described = (await aeTitle.getAttribute('aria-describedby')) ?? '';
  const errorText = await page
    .locator(`[id="${described.split(' ').find((id) => id.endsWith('-error'))}"]`)
    .textContent();
  t.regex(errorText ?? '', /expected an AE title of 1 to 16 printable characters/);
  t.is(await page.evaluate('document.activeElement?.dataset.path'), 'aeTitles[0]', 'the cursor is on the AE title');
  t.is(await box(page, 'Name').getAttribute('aria-invalid'), null, 'the other fields are not marked');
  await screenshot(page, '31-facility-form-bad-ae-title');
  t.is((await api(hub, '/api/facilities/HILLSIDE')).status, 404, 'nothing was saved');

  // The keyboard alone fixes it: the cursor is already in the field.
  await page.keyboard.press('Control+A');
  await page.keyboard.type('HILLSIDE_CT');
  await page.getByRole('button', { name: 'Create facility' }).click();
  await page.getByRole('cell', { name: 'HILLSIDE_CT' }).waitFor();
  await screenshot(page, '32-facility-form-created');
  const saved = await facilityOf(hub, 'HILLSIDE');
  t.deepEqual(saved['aeTitles'], ['HILLSIDE_CT']);
  t.deepEqual(saved['sendingFacilities'], ['HILLSIDE']);
  t.is(saved['name'], 'Hillside Imaging');
  t.deepEqual(unexpected(problems, [400, 401]), []);
});

test("an admin edits a facility in the form; a bad phone is refused in its row; the form's other keys survive", async (t) => {
  const { hub } = await startConsoleHub(t, { facilities: [valley] });
  await createUser(hub, { username: 'ada', name: 'Ada Admin', roles: ['admin'], password: 'first password' });
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, hub.url('/'), 'ada', 'first password', 'ada edits facilities');

  await page.getByRole('link', { name: 'Facilities' }).click();
  await page.getByRole('row').filter({ hasText: 'VALLEYGEN' }).getByRole('button', { name: 'Edit' }).click();
  const code = box(page, 'Code');
  t.is(await code.inputValue(), 'VALLEYGEN');
  t.false(await code.isEditable(), 'the code of a facility that exists is not changed');
  t.is(await box(page, 'PACS AE title').inputValue(), 'RSO_PACS');
  t.true(await page.getByRole('checkbox', { name: 'Technician 1 notify by SMS' }).isChecked());
  await screenshot(page, '33-facility-form-edit', { top: true });

  await box(page, 'PACS port').fill('4343');
  await page.getByRole('button', { name: 'Add technician' }).click();
  await box(page, 'Technician 2 id').fill('tech-james');
  await box(page, 'Technician 2 name').fill('James Okafor');
  await box(page, 'Technician 2 phone').fill('555-0188');
  await page.getByRole('checkbox', { name: 'Technician 2 notify by SMS' }).check();
  await page.getByRole('button', { name: 'Save facility' }).click();
  const phone = box(page, 'Technician 2 phone');
  await page.getByRole('alert').filter({ hasText: 'The hub refused this facility' }).waitFor();
  t.is(await phone.getAttribute('aria-invalid'), 'true');
  t.is(
    await page.evaluate('document.activeElement?.dataset.path'),
    'technicians[1].phone',
    'the cursor is on the phone',
  );
  t.is(await box(page, 'Technician 1 phone').getAttribute('aria-invalid'), null, 'the other fields are not marked');
  await screenshot(page, '34-facility-form-bad-phone');
  t.is(((await facilityOf(hub, 'VALLEYGEN'))['radiologistPacs'] as { port: number }).port, 4242, 'nothing saved');

  await phone.fill('+15555550188');
  await page.getByRole('button', { name: 'Save facility' }).click();
  await page.getByRole('button', { name: 'New facility' }).waitFor();
  const saved = await facilityOf(hub, 'VALLEYGEN');
  t.deepEqual(saved['radiologistPacs'], { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: 4343 });
  t.deepEqual(saved['technicians'], [
    valley.technicians[0],
    { id: 'tech-james', name: 'James Okafor', phone: '+15555550188', notify: ['sms'] },
  ]);
  t.deepEqual(saved['moveDestinations'], valley.moveDestinations, 'a key the form does not show is kept');
  t.deepEqual(saved['coercion'], valley.coercion);
  t.deepEqual(saved['billingRules'], valley.billingRules);

  // A key only the JSON view shows: its issue is listed above the form, and the JSON view has it at its line.
  await page.getByRole('row').filter({ hasText: 'VALLEYGEN' }).getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('tab', { name: /JSON/ }).click();
  const json = box(page, 'Facility (JSON)');
  const edited = JSON.parse(await json.inputValue()) as typeof valley;
  edited.moveDestinations[0]!.port = 70000;
  await json.fill(JSON.stringify(edited, null, 2));
  await page.getByRole('tab', { name: 'Form' }).click();
  await page.getByRole('button', { name: 'Save facility' }).click();
  const elsewhere = page.getByTestId('issue-elsewhere');
  await elsewhere.waitFor();
  t.regex((await elsewhere.textContent()) ?? '', /moveDestinations\[0\]\.port: /);
  await elsewhere.getByRole('button', { name: 'Show in the JSON view' }).click();
  t.regex((await page.getByTestId('validation-issue').textContent()) ?? '', /Line \d+ · moveDestinations\[0\]\.port/);
  await screenshot(page, '35-facility-json-issue');
  t.deepEqual(unexpected(problems, [400, 401]), []);
});

test('a read-only user sees the facility form with nothing to change and no button that changes it', async (t) => {
  const { hub } = await startConsoleHub(t, { facilities: [valley] });
  await createUser(hub, { username: 'vera', name: 'Vera Viewer', roles: ['viewer'], password: 'first password' });
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, hub.url('/'), 'vera', 'first password', 'vera reads only');

  await page.getByRole('link', { name: 'Facilities' }).click();
  await page.getByRole('cell', { name: 'Valley General' }).waitFor();
  t.is(await page.getByRole('button', { name: 'New facility' }).count(), 0);
  t.is(await page.getByRole('button', { name: 'Edit' }).count(), 0);
  await page.getByRole('row').filter({ hasText: 'VALLEYGEN' }).getByRole('button', { name: 'View' }).click();
  await box(page, 'Name').waitFor();
  t.is(await box(page, 'Name').inputValue(), 'Valley General');
  for (const label of ['Name', 'AE title 1', 'MSH-4 code 1', 'PACS AE title', 'Technician 1 phone', 'Reports by fax'])
    t.false(await box(page, label).isEditable(), label);
  t.true(await page.getByRole('checkbox', { name: 'Technician 1 notify by SMS' }).isDisabled());
  t.true(await page.getByRole('switch', { name: 'Active' }).isDisabled());
  t.is(await page.getByRole('button', { name: /save|create|add|remove/i }).count(), 0);
  await screenshot(page, '36-facility-form-read-only', { top: true });
  await page.getByRole('tab', { name: /JSON/ }).click();
  t.false(await box(page, 'Facility (JSON)').isEditable());

  // Trying anyway, with the session and its CSRF token, is refused by the hub.
  const status = await page.evaluate(async () => {
    const { csrfToken } = (await (await fetch('/api/session')).json()) as { csrfToken: string };
    const answer = await fetch('/api/facilities/VALLEYGEN', {
      method: 'PUT',
      headers: { 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'VALLEYGEN', name: 'Hijacked', aeTitles: [], active: true }),
    });
    return answer.status;
  });
  t.is(status, 403);
  t.is((await facilityOf(hub, 'VALLEYGEN'))['name'], 'Valley General');
  t.deepEqual(unexpected(problems, [401, 403]), []);
});
