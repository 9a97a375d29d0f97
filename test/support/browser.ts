// The web console in a real browser: Debian's Chromium driven by playwright-core, headless, at the 1280×800 the
// issue asks the console to work at. Every page records what went wrong inside it (uncaught errors, console
// errors, CSP violations), so a test can assert that a screen not only showed but also ran cleanly. Screenshots go
// to artifacts/ (gitignored) for a person to look at.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { repoRoot } from './hub-process.ts';

export const chromiumPath = '/usr/bin/chromium';
export const artifactsDir = path.join(repoRoot, 'artifacts', 'console');
/** Generous: the machine is shared and loaded; nothing waits this long unless something is wrong. */
export const uiTimeoutMs = 30_000;

export async function launch(t: ExecutionContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  t.teardown(() => browser.close());
  return browser;
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Uncaught errors, console errors and CSP violations seen so far, in order. */
  problems: string[];
}

export async function openPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport, timezoneId: 'Europe/Zurich', locale: 'en-GB' });
  context.setDefaultTimeout(uiTimeoutMs);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A failed request is logged by the browser too, without saying which: the response listener names it.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      problems.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() < 400) return;
    const url = new URL(response.url());
    problems.push(`http ${response.status()} ${response.request().method()} ${url.pathname}${url.search}`);
  });
  return { page, context, problems };
}

/** Problems other than the HTTP errors a test provoked on purpose. */
export function unexpected(problems: readonly string[], expectedStatuses: readonly number[] = []): string[] {
  return problems.filter((p) => !expectedStatuses.some((status) => p.startsWith(`http ${status} `)));
}

export async function screenshot(page: Page, name: string, options: { top?: boolean } = {}): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  if (options.top) await page.evaluate('window.scrollTo(0, 0)');
  // The viewport, as a person sees it: a full-page shot draws the fixed header over the middle of long pages.
  await page.screenshot({ path: file, animations: 'disabled' });
  return file;
}

/**
 * Signs in through the form and waits until the console's frame shows the user. A user who must change the
 * password first (the generated admin, a new user) is taken through that screen with `newPassword`.
 */
export async function signIn(page: Page, baseUrl: string, username: string, password: string, newPassword?: string) {
  await page.goto(baseUrl);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const forced = page.getByRole('heading', { name: 'Choose a new password' });
  await page.getByTestId('signed-in-user').or(forced).waitFor();
  if (!(await forced.isVisible())) return;
  if (newPassword === undefined) throw new Error(`${username} must change the password first: give newPassword`);
  await page.getByLabel(/^Current password/).fill(password);
  await page.getByLabel(/^New password$|^New password \*/).fill(newPassword);
  await page.getByLabel(/^New password again/).fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByTestId('signed-in-user').waitFor();
}
