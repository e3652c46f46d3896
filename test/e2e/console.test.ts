// End to end through the web console of a real `ampule serve` (real keychain, real TLS, real
// Chromium): set the password and TOTP via the CLI, sign in, create a workspace and a token,
// remote-write real samples, see Explore draw them, see the checklist, delete the workspace.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { base32Decode, totp } from '../../main/console/totp';
import { encodeV1, snappy } from '../main/ingest/encode';
import { consoleSkipReason, launchChromium, RESULTS, startConsoleServer, type ConsoleServer } from './console-server';
import { createQueryToken, remoteWrite, setQuery } from './window-flows';

const PASSWORD = 'e2e console password 42';
if (consoleSkipReason) console.log(`console e2e skipped: ${consoleSkipReason}`);

describe.skipIf(consoleSkipReason !== null)('web console end to end', () => {
  let srv: ConsoleServer;
  let baseUrl = '';
  let dataDir = '';
  let totpSecret: Buffer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    srv = await startConsoleServer(PASSWORD, 'ampule-e2e-console-', (cli) => {
      const mfa = cli('console', 'mfa', 'enable', '--json');
      expect(mfa.status, String(mfa.stderr)).toBe(0);
      totpSecret = base32Decode((JSON.parse(String(mfa.stdout)) as { secret: string }).secret);
    });
    ({ baseUrl, dataDir } = srv);
    browser = await launchChromium();
    // The server's certificate is from this data directory's own CA.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') cspErrors.push(m.text());
    });
  });

  const cspErrors: string[] = [];

  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
  });

  let workspaceId = '';
  let token = '';

  it('signs in with password and TOTP', async () => {
    await page.goto(`${baseUrl}/console/`);
    await page.getByLabel('Admin password').fill('wrong password!!');
    await page.getByLabel('Authenticator code').fill(totp(totpSecret, Date.now()));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.locator('.form-error').textContent()).toContain('wrong password');
    await page.screenshot({ path: join(RESULTS, 'login.png') });

    await page.getByLabel('Admin password').fill(PASSWORD);
    await page.getByLabel('Authenticator code').fill(totp(totpSecret, Date.now()));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === '__Host-ampule-console')!;
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
  });

  it('creates a workspace, warning about personal data in the alias', async () => {
    await page.getByRole('button', { name: 'Create workspace' }).click();
    const alias = page.getByLabel('Alias');
    await alias.fill('jane.doe@example.com');
    await poll(() => page.locator('dialog .warning').isVisible()).toBe(true);
    expect(await page.locator('dialog .warning').textContent()).toContain('E-mail address');
    await page.screenshot({ path: join(RESULTS, 'create-warning.png') });
    await alias.fill('e2e-staging');
    await poll(() => page.locator('dialog .warning').isHidden()).toBe(true);
    await page.getByLabel('Tags (optional)').fill('team=platform, env=staging');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: /e2e-staging/ }).waitFor();
    workspaceId = /#\/workspaces\/(ws-[\w-]+)/.exec(page.url())![1]!;
    expect(await page.locator('pre.code').first().textContent()).toContain(`/workspaces/${workspaceId}/api/v1/remote_write`);
  });

  it('creates a token and shows it once', async () => {
    token = await createQueryToken(page, 'prometheus');
    expect(token).toMatch(/^amp_[0-9a-f]+_/);
    await page.screenshot({ path: join(RESULTS, 'token.png') });
    await page.getByRole('button', { name: 'Done' }).click();
    const tokens = page.locator('section', { has: page.getByRole('heading', { name: 'Tokens' }) });
    expect(await tokens.locator('table').textContent()).toContain('remote_write, query');

    // A second token, revoked at once.
    await page.getByLabel('Token name').fill('spare');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByRole('button', { name: 'Done' }).click();
    page.once('dialog', (d) => void d.accept());
    await tokens.locator('tr', { hasText: 'spare' }).getByRole('button', { name: 'Revoke' }).click();
    await poll(() => tokens.locator('tr', { hasText: 'spare' }).locator('.badge').textContent()).toBe('revoked');
  });

  it('renames the workspace and edits its tags', async () => {
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.locator('dialog').getByLabel('Alias').fill('e2e-staging-2');
    await page.locator('dialog').getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: /e2e-staging-2/ }).waitFor();
    await page.getByRole('button', { name: 'Edit tags' }).click();
    await page.locator('dialog').getByLabel('Tags').fill('team=platform');
    await page.locator('dialog').getByRole('button', { name: 'Save' }).click();
    await poll(() => page.locator('.page-head .lead').textContent()).toMatch(/tags: team=platform$/);
  });

  it('draws remote-written samples in Explore', async () => {
    const now = Date.now();
    const series = ['a', 'b'].map((job, j) => ({
      labels: [['__name__', 'e2e_requests_total'], ['job', job]] as [string, string][],
      samples: Array.from({ length: 30 }, (_, i) => ({ t: now - (30 - i) * 10_000, v: (i + 1) * (j + 1) })),
    }));
    const status = await remoteWrite(`${baseUrl}/workspaces/${workspaceId}/api/v1/remote_write`, readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8'), token, snappy(encodeV1(series)));
    expect(status).toBe(204);

    await nav(page, 'Explore');
    await page.getByLabel('Workspace', { exact: true }).selectOption(workspaceId);
    await setQuery(page, 'e2e_requests_total{job=');
    await poll(() => page.locator('.query-issues').first().textContent()).toMatch(/^Error at character \d+/);
    await setQuery(page, 'e2e_requests_total');
    await page.getByRole('button', { name: 'Run query' }).click();
    await poll(() => page.locator('.query-status').first().textContent()).toMatch(/2 series/);
    const plotted = await page.evaluate(() => {
      // What uPlot itself holds: series labels and the aligned data columns it draws.
      const u = (window as unknown as { ampuleCharts: Record<string, { series: { label?: string }[]; data: (number | null)[][] }> }).ampuleCharts['explore']!;
      const columns = u.data.slice(1).map((col) => [...col].filter((v): v is number => v !== null));
      return { labels: u.series.slice(1).map((s) => s.label), points: columns.map((c) => c.length), max: Math.max(...columns.flat()) };
    });
    expect(plotted.labels).toEqual(['e2e_requests_total{job="a"}', 'e2e_requests_total{job="b"}']);
    expect(Math.min(...plotted.points)).toBeGreaterThan(10);
    expect(plotted.max).toBe(60);
    await page.locator('.query-panel .u-over').first().hover({ position: { x: 600, y: 120 } });
    await page.screenshot({ path: join(RESULTS, 'explore.png') });
    await page.getByRole('tab', { name: 'Table' }).first().click();
    expect(await page.locator('.query-panel table.responsive').first().textContent()).toContain('job="a"');

    // A custom range: the chart's x axis starts where From says.
    await page.getByRole('tab', { name: 'Chart' }).first().click();
    await page.getByLabel('Time range', { exact: true }).selectOption('custom');
    const fromMs = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    const local = new Date(fromMs - new Date(fromMs).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await page.getByLabel('From', { exact: true }).fill(local);
    await page.getByLabel('From', { exact: true }).dispatchEvent('change');
    await poll(() =>
      page.evaluate(() => (window as unknown as { ampuleCharts: Record<string, { scales: { x: { min: number } } }> }).ampuleCharts['explore']!.scales.x.min),
    ).toBe(fromMs / 1000);

    await nav(page, 'Workspaces');
    await poll(() => page.locator('table.workspaces tbody tr').count()).toBe(1);
    expect(await page.locator('table.workspaces tbody tr td').nth(4).textContent()).toBe('2');
    await page.screenshot({ path: join(RESULTS, 'workspaces.png') });
    await page.getByRole('link', { name: 'e2e-staging-2' }).click();
    await page.locator('.figure-value').first().waitFor();
    await page.screenshot({ path: join(RESULTS, 'workspace.png'), fullPage: true });
  });

  it('shows every checklist item with a status, and the self-test passes', async () => {
    await nav(page, 'Data protection');
    const items = page.locator('.checklist li');
    await poll(() => items.count()).toBeGreaterThanOrEqual(5);
    const statuses = await items.evaluateAll((els) => els.map((e) => [e.getAttribute('data-check-id'), e.getAttribute('data-status')]));
    for (const [id, s] of statuses) expect(['pass', 'warn', 'fail'], `checklist item ${id}`).toContain(s);
    await page.locator('.self-test').getByRole('button', { name: 'Run self-test' }).click();
    await poll(() => page.locator('.self-test .badge').textContent()).toBe('passed');
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await poll(() => page.locator('.verify-result').textContent()).toContain('pass');
    await page.screenshot({ path: join(RESULTS, 'protection.png'), fullPage: true });
  });

  it('deletes the workspace after the alias is typed', async () => {
    await page.goto(`${baseUrl}/console/#/workspaces/${workspaceId}`);
    await page.getByRole('button', { name: 'Delete…' }).click();
    const submit = page.getByRole('button', { name: 'Delete forever' });
    expect(await submit.isDisabled()).toBe(true);
    await page.getByLabel(/Type the alias/).fill('e2e-staging-2');
    await submit.click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await poll(() => page.locator('.empty-state').isVisible()).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'workspaces-empty.png') });
    expect(cspErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });
});

/** The UI talks to a real server under load: allow it time. */
function poll<T>(f: () => Promise<T> | T) {
  return expect.poll(f, { timeout: 15_000, interval: 100 });
}

function nav(page: Page, name: string): Promise<void> {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
}
