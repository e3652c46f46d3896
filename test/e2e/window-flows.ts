// Steps the window e2e tests share (Chromium window, Electron app, web console): the same
// renderer, so the same clicks; plus remote-writing samples as Prometheus would.
import { request } from 'node:https';
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { V1_TYPE } from '../main/ingest/encode';

/** POSTs a snappy remote-write v1 body with a bearer token, trusting only `caPem`; the HTTP status. */
export function remoteWrite(url: string, caPem: string, token: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca: caPem, headers: { Authorization: `Bearer ${token}`, 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A desktop-sized page of the web console at `baseUrl`, signed in with `password`, on the
 * workspaces page. Console errors (Content Security Policy violations among them) go to `errors`.
 */
export async function signedInConsole(browser: Browser, baseUrl: string, password: string, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 768 } });
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => console.error(`Content Security Policy violation: ${e.violatedDirective}`)));
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('Admin password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  return page;
}

/** From the workspaces page: creates a workspace and waits for its page; returns its id. */
export async function createWorkspace(page: Page, alias: string): Promise<string> {
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await page.getByLabel('Alias').fill(alias);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('heading', { name: new RegExp(alias) }).waitFor();
  return /#\/workspaces\/(ws-[\w-]+)/.exec(page.url())![1]!;
}

/** On a workspace's page: a token with the query scope added; returns the secret while it is shown (before Done). */
export async function createQueryToken(page: Page, name: string): Promise<string> {
  await page.getByLabel('Token name').fill(name);
  await page.getByRole('checkbox', { name: 'query' }).check();
  await page.getByRole('button', { name: 'Create token' }).click();
  return ((await page.locator('#new-token-secret').textContent()) ?? '').trim();
}

/**
 * Explore: replaces the text of a query editor as a user would (select all, then text input), not
 * with fill(): its execCommand path lets Chromium's editing code add style attributes, which the
 * CSP refuses. Closes the completion list afterwards.
 */
export async function setQuery(page: Page, text: string, label = 'PromQL'): Promise<void> {
  await page.getByRole('textbox', { name: label, exact: true }).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  if (text) await page.keyboard.insertText(text);
  await page.keyboard.press('Escape');
}

/** Explore: runs `query` on the workspace and waits until one series is charted. */
export async function exploreOneSeries(page: Page, workspaceId: string, query: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Explore' }).click();
  await page.getByRole('combobox', { name: 'Workspace', exact: true }).selectOption(workspaceId);
  await setQuery(page, query);
  await page.getByRole('button', { name: 'Run query' }).click();
  await expect.poll(() => page.locator('.query-status').first().textContent()).toMatch(/1 series/);
}
