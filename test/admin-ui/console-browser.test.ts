// The web console as an analyst uses it, in Debian's Chromium against a real hub process with a real MLLP sender
// and receiver: a wrong password, the first sign-in with the generated admin password and its forced change, the
// dashboard counting a message, a channel edited (a mistake shown at its JSON path, then fixed, saved, deployed),
// a message found by accession and resent, a destination paused and resumed, an error said plainly, sign-out; and
// a read-only user who sees no button that changes anything. Screenshots land in artifacts/console/.
import test from 'ava';
import { fixture, MllpTestClient } from '../hl7/mllp-peer.ts';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { until, withControlId } from '../support/channels.ts';
import { firstAdminPassword, startConsoleHub } from '../support/console-hub.ts';
import { api } from '../support/hub-process.ts';

test('an analyst signs in, watches a message arrive, edits and deploys a channel, resends a message and pauses a queue', async (t) => {
  const { hub, ehr, client, inPort } = await startConsoleHub(t);
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await page.goto(hub.url('/'));
  await page.getByRole('heading', { name: 'Sign in to the RSO hub' }).waitFor();
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel(/^Password/).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'The user name or password is wrong.' }).waitFor();
  await screenshot(page, '01-sign-in-refused');

  // The first sign-in with the generated password leads to the password change and nowhere else.
  await page.getByLabel(/^Password/).fill(await firstAdminPassword(hub));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await screenshot(page, '01-first-sign-in');
  await page.getByLabel(/^Current password/).fill(await firstAdminPassword(hub));
  await page.getByLabel(/^New password( \*)?$/).fill('the analyst password');
  await page.getByLabel(/^New password again/).fill('the analyst password');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByTestId('signed-in-user').waitFor();
  t.is(await page.getByTestId('signed-in-user').textContent(), 'Administrator');

  // Dashboard: the channel's card counts the message the test sends over MLLP, without a reload.
  const card = page.getByTestId('channel-card-relay');
  await card.waitFor();
  t.is(await card.getByTestId('count-received').textContent(), '0');
  t.is((await client.exchange(withControlId(await fixture('orm-o01.hl7'), 'UI000001'))).get('MSA-1'), 'AA');
  await card.getByTestId('count-received').filter({ hasText: /^1$/ }).waitFor();
  await until(() => ehr.received.length === 1, 15_000, 'first delivery');
  await screenshot(page, '02-dashboard');

  // Channel editor: a wrong port is refused at its JSON path; the fixed definition saves and deploys.
  await page.getByRole('link', { name: 'Channels' }).click();
  await page.getByTestId('channel-row-relay').getByRole('link', { name: 'relay relay' }).click();
  const editor = page.getByLabel('Channel definition (JSON)');
  await editor.waitFor();
  const definition = await editor.inputValue();
  await editor.fill(definition.replace(`"port": ${ehr.port}`, '"port": "eighty"'));
  await page.getByRole('button', { name: 'Save' }).click();
  const issue = page.getByTestId('validation-issue');
  await issue.waitFor();
  t.regex((await issue.textContent()) ?? '', /Line \d+ · destinations\[0\]\.connector\.settings\.port: /);
  await screenshot(page, '03-channel-error-at-path');
  await editor.fill(definition);
  await page.getByLabel('Name', { exact: true }).fill('relay to the EHR');
  t.regex(await editor.inputValue(), /"name": "relay to the EHR"/, 'the form edits the JSON');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved as revision 2').waitFor();
  await page.getByRole('button', { name: 'Deploy revision 2' }).click();
  await page.getByText('Revision 2 is deployed.').waitFor();
  await page.getByRole('heading', { name: 'relay to the EHR' }).waitFor();
  await screenshot(page, '04-channel-deployed', { top: true });

  // Revisions: revision 1 beside the active one, then revert to it.
  await page.getByRole('tab', { name: 'Revisions' }).click();
  await page.getByRole('button', { name: 'Compare with active' }).click();
  await page
    .getByTestId('diff-summary')
    .filter({ hasText: /changed line/ })
    .waitFor();
  t.true(await page.locator('[data-change="changed"]').filter({ hasText: 'relay to the EHR' }).isVisible());
  await screenshot(page, '04-revision-diff');
  await page.getByRole('button', { name: 'Revert to revision 1' }).click();
  await page.getByRole('heading', { name: 'relay relay' }).waitFor();

  // Message browser: found by accession; resend sends it to the EHR a second time.
  await page.getByRole('link', { name: 'Messages' }).click();
  await page.getByLabel('Accession').fill('ACC778899');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByTestId('message-row').first().waitFor();
  t.is(await page.getByTestId('message-row').count(), 1);
  await screenshot(page, '05-messages');
  await page.getByTestId('message-row').getByRole('link').click();
  await page.getByRole('button', { name: 'Resend to ehr' }).click();
  await page.getByText('Queued again for ehr.').waitFor();
  await until(() => ehr.received.length === 2, 15_000, 'resent delivery');
  t.is(ehr.received[1]?.get('MSH-10'), 'UI000001');
  await page.getByTestId('destination-ehr').getByText('sent', { exact: true }).waitFor();
  await screenshot(page, '06-message-detail');

  // Queues: pause and resume the EHR destination.
  await page.getByRole('link', { name: 'Queues' }).click();
  const queue = page.getByTestId('queue-relay/ehr');
  await queue.getByRole('button', { name: 'Pause ehr' }).click();
  await queue.getByTestId('queue-state').filter({ hasText: 'paused' }).waitFor();
  await screenshot(page, '07-queue-paused');
  // While paused, a message waits at the head; giving it up (with a reason) takes it out, failed and never sent.
  // The deploys above restarted the channel's listener, which closed the first connection: a sender reconnects.
  const again = await MllpTestClient.connect(inPort);
  t.teardown(() => void again.close());
  t.is((await again.exchange(withControlId(await fixture('orm-o01.hl7'), 'UI000002'))).get('MSA-1'), 'AA');
  await queue.getByRole('cell', { name: '1', exact: true }).waitFor();
  await queue.getByRole('button', { name: 'Give up' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(/^Reason/).fill('sent by phone instead');
  await screenshot(page, '07-queue-give-up');
  await dialog.getByRole('button', { name: 'Give up' }).click();
  await queue.getByRole('cell', { name: '0', exact: true }).waitFor();
  const given = await (await api(hub, '/api/messages?controlId=UI000002')).json();
  t.is(
    (given as { items: Array<{ destinations: Array<{ state: string }> }> }).items[0]?.destinations[0]?.state,
    'error',
  );
  await queue.getByRole('button', { name: 'Resume ehr' }).click();
  await queue.getByTestId('queue-state').filter({ hasText: 'running' }).waitFor();
  t.is(ehr.received.length, 2, 'the message given up never reached the EHR');

  // An error is said in words, with a way to try again, and no stack trace.
  await page.goto(hub.url('/channels/no-such-channel'));
  const alert = page.getByRole('alert');
  await alert.waitFor();
  t.regex((await alert.textContent()) ?? '', /channel 'no-such-channel' not found/);
  t.notRegex((await page.content()) ?? '', /at \w+ \(.*:\d+:\d+\)/);
  await screenshot(page, '08-error');

  // A tablet held upright (820 × 1180).
  await page.setViewportSize({ width: 820, height: 1180 });
  await page.goto(hub.url('/'));
  await page.getByTestId('channel-card-relay').waitFor();
  await screenshot(page, '09-tablet-dashboard');
  await page.setViewportSize({ width: 1280, height: 800 });

  // The audit log has the channel's save with its before and after; the users list has the admin.
  await page.getByRole('link', { name: 'Audit log' }).click();
  const save = page.getByTestId('audit-row').filter({ hasText: 'channel.save' }).first();
  await save.getByRole('button', { name: 'Show change' }).click();
  await page.getByTestId('diff-summary').waitFor();
  await screenshot(page, '09-audit');
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('cell', { name: 'Administrator' }).waitFor();
  await screenshot(page, '10-users');
  await page.getByRole('link', { name: 'Facilities' }).click();
  await page.getByRole('heading', { name: 'Facilities' }).waitFor();
  await screenshot(page, '11-facilities');

  // A 401 from any request (here: the session cookie is gone) returns to sign-in.
  await page.context().clearCookies();
  await page.getByRole('link', { name: 'Channels' }).click();
  await page.getByRole('heading', { name: 'Sign in to the RSO hub' }).waitFor();
  await page.getByText('Your session has ended').waitFor();

  // Sign-out ends the session on the hub, not only in the page.
  await signIn(page, hub.url('/'), 'admin', 'the analyst password');
  const session = await page.context().cookies(hub.url('/'));
  t.true(session.some((c) => c.name === 'rso_session' && c.httpOnly && c.sameSite === 'Strict'));
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to the RSO hub' }).waitFor();
  const cookie = session.map((c) => `${c.name}=${c.value}`).join('; ');
  t.is((await fetch(hub.url('/api/session'), { headers: { cookie } })).status, 401, 'the old cookie is dead');

  t.deepEqual(unexpected(problems, [400, 401, 404]), [], 'no script error and no CSP violation on any screen');
});

test('a viewer (read-only) sees the channels, messages and queues but no button that changes them', async (t) => {
  const { hub, client } = await startConsoleHub(t);
  t.is((await client.exchange(withControlId(await fixture('orm-o01.hl7'), 'RO000001'))).get('MSA-1'), 'AA');
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  const created = await api(hub, '/api/users', {
    method: 'POST',
    body: JSON.stringify({ username: 'vera', name: 'Vera Viewer', roles: ['viewer'], password: 'first password' }),
  });
  t.is(created.status, 201);
  await signIn(page, hub.url('/'), 'vera', 'first password', 'vera reads only');

  await page.getByRole('link', { name: 'Channels' }).click();
  await page.getByTestId('channel-row-relay').waitFor();
  t.is(await page.getByRole('button', { name: /deploy/i }).count(), 0);
  await page.getByTestId('channel-row-relay').getByRole('link', { name: 'relay relay' }).click();
  await page.getByLabel('Channel definition (JSON)').waitFor();
  t.true(
    await page
      .getByLabel('Channel definition (JSON)')
      .isEditable()
      .then((editable) => !editable),
  );
  t.is(await page.getByRole('button', { name: /save|deploy/i }).count(), 0);
  await screenshot(page, '10-read-only-channel');

  await page.getByRole('link', { name: 'Queues' }).click();
  await page.getByTestId('queue-relay/ehr').waitFor();
  t.is(await page.getByRole('button', { name: /pause|resume/i }).count(), 0);

  await page.getByRole('link', { name: 'Messages' }).click();
  await page.getByTestId('message-row').getByRole('link').click();
  await page.getByTestId('destination-ehr').waitFor();
  t.is(await page.getByRole('button', { name: /resend|reprocess/i }).count(), 0);
  t.is(await page.getByRole('link', { name: 'Users' }).count(), 0, 'the admin sections are not offered');

  // Trying anyway, with the session and its CSRF token, is refused by the hub.
  const status = await page.evaluate(async () => {
    const { csrfToken } = (await (await fetch('/api/session')).json()) as { csrfToken: string };
    const answer = await fetch('/api/channels/relay/deploy', {
      method: 'POST',
      headers: { 'x-csrf-token': csrfToken },
    });
    return answer.status;
  });
  t.is(status, 403);
  t.deepEqual(unexpected(problems, [401, 403]), []);
});
