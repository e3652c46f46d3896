// Explore and the layout in real Chromium against a real `ampule serve`, at a laptop width (1366)
// and a phone width (390): the PromQL editor completes metric names, labels and values from the
// workspace; large values get readable axis labels with units; the x axis spans the chosen
// range; an empty result says "No data"; several queries per view; the view survives a reload
// from its URL; and on every page no table cell is cut, nothing scrolls sideways, the sidebar
// colour reaches the bottom. Screenshots go to test-results/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { encodeV1, ProtoWriter, snappy } from '../main/ingest/encode';
import { consoleSkipReason, launchChromium, RESULTS, startConsoleServer, type ConsoleServer } from './console-server';
import { remoteWrite, setQuery } from './window-flows';

const PASSWORD = 'e2e explore password 42';
const DISK_HELP = 'Bytes used on the device.';
const LATENCY_HELP = 'Time the API took to answer, per request.';

/** Appends 1.0 WriteRequest.metadata entries (type=1 gauge=2, metric_family_name=2, help=4, unit=5), as Prometheus's metadata_config sends them. */
function withMetadata(body: Buffer): Buffer {
  const w = new ProtoWriter();
  for (const [name, help, unit] of [['e2e_disk_bytes', DISK_HELP, 'bytes'], ['e2e_latency_seconds', LATENCY_HELP, 'seconds']]) {
    w.message(3, (m) => m.tag(1, 0).varint(2).string(2, name!).string(4, help!).string(5, unit!));
  }
  return Buffer.concat([body, w.finish()]);
}
if (consoleSkipReason) console.log(`explore e2e skipped: ${consoleSkipReason}`);

interface PlotView {
  xMin: number;
  xMax: number;
  yLabels: string[];
  yAxisWidth: number;
  widestLabel: number;
  series: number;
}

describe.skipIf(consoleSkipReason !== null)('Explore and layout in Chromium at 1366 and 390 px', () => {
  let srv: ConsoleServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let workspaceId = '';
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    let token = '';
    srv = await startConsoleServer(PASSWORD, 'ampule-e2e-explore-', (cli) => {
      const ws = cli('workspace', 'create', '--alias', 'explore-e2e', '--tag', 'team=platform', '--tag', 'env=staging-with-a-long-tag-value', '--json');
      workspaceId = (JSON.parse(String(ws.stdout)) as { workspaceId: string }).workspaceId;
      const t = cli('token', 'create', '--workspace', workspaceId, '--scope', 'remote_write', '--name', 'e2e', '--json');
      token = /"(amp_[^"]+)"/.exec(String(t.stdout))![1]!;
    });
    const now = Date.now();
    const points = (f: (i: number) => number) => Array.from({ length: 40 }, (_, i) => ({ t: now - (40 - i) * 15_000, v: f(i) }));
    const series = [
      { labels: [['__name__', 'e2e_disk_bytes'], ['device', 'sda'], ['job', 'node']] as [string, string][], samples: points((i) => 1.2e10 + i * 1e8) },
      { labels: [['__name__', 'e2e_disk_bytes'], ['device', 'sdb'], ['job', 'node']] as [string, string][], samples: points((i) => 3.5e10 - i * 2e8) },
      { labels: [['__name__', 'e2e_latency_seconds'], ['job', 'api']] as [string, string][], samples: points((i) => 0.002 + (i % 7) * 0.004) },
    ];
    const status = await remoteWrite(`${srv.baseUrl}/workspaces/${workspaceId}/api/v1/remote_write`, readFileSync(join(srv.dataDir, 'tls', 'ca.crt'), 'utf8'), token, snappy(withMetadata(encodeV1(series))));
    expect(status).toBe(204);

    browser = await launchChromium();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 768 } });
    await context.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) => console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample} at ${location.hash} on ${(e.target as Element).outerHTML?.slice(0, 200)}`)),
    );
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('leads from https://host/ to the console and signs in', async () => {
    const res = await page.goto(`${srv.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/console/');
    expect(res?.status()).toBe(200);
    await page.getByLabel('Admin password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  });

  it('completes metric names, label names and values in the editor', async () => {
    await page.goto(`${srv.baseUrl}/console/#/explore/${workspaceId}`);
    const box = editor(page, 'PromQL');
    await box.click();
    await page.keyboard.type('e2e_di');
    const options = page.locator('.cm-tooltip-autocomplete li');
    await poll(() => options.allTextContents()).toContainEqual(expect.stringContaining('e2e_disk_bytes'));
    await page.screenshot({ path: join(RESULTS, 'explore-completion-1366.png') });
    // CodeMirror ignores Enter while the list waits for a completion source (it stays on screen,
    // marked disabled: the metric names come from the server, slow on a loaded machine) and until
    // the list has been open for its interactionDelay, so that a list popping up takes nothing.
    const selected = page.locator('.cm-tooltip-autocomplete:not(.cm-tooltip-autocomplete-disabled) li[aria-selected="true"]');
    await poll(() => selected.textContent()).toContain('e2e_disk_bytes');
    await page.waitForTimeout(2 * COMPLETION_INTERACTION_DELAY_MS);
    await page.keyboard.press('Enter'); // takes the completion
    expect(await box.textContent()).toBe('e2e_disk_bytes');
    await page.keyboard.type('{');
    await poll(() => options.allTextContents().then((a) => a.join(' '))).toMatch(/\bdevice\b.*\bjob\b/);
    await page.keyboard.type('device="');
    await poll(() => options.allTextContents().then((a) => a.join(' '))).toMatch(/sda.*sdb/);
    // Functions come from the editor itself.
    await setQuery(page, '', 'PromQL');
    await page.keyboard.type('histogram_qu');
    await poll(() => options.allTextContents()).toContainEqual(expect.stringContaining('histogram_quantile'));
    await page.keyboard.press('Escape');
  });

  it("shows a metric's TYPE, UNIT and HELP in the completion list and next to the query", async () => {
    const box = editor(page, 'PromQL');
    await setQuery(page, '', 'PromQL');
    await box.click();
    await page.keyboard.type('e2e_lat');
    const options = page.locator('.cm-tooltip-autocomplete li');
    // codemirror-promql puts the type beside the name and the help in the info panel.
    await poll(() => options.allTextContents()).toContainEqual(expect.stringMatching(/e2e_latency_seconds.*gauge/));
    await poll(() => page.locator('.cm-completionInfo').textContent()).toContain(LATENCY_HELP);
    await page.keyboard.press('Escape');
    const info = page.locator('.query-panel').first().locator('.metric-info');
    await setQuery(page, 'histogram_quantile(0.9, sum by (le, job) (rate(e2e_disk_bytes[5m]))) / e2e_latency_seconds', 'PromQL');
    await poll(() => info.locator('dt').allTextContents()).toEqual([expect.stringMatching(/^e2e_disk_bytes\s*gauge\s*unit: bytes$/), expect.stringMatching(/^e2e_latency_seconds\s*gauge\s*unit: seconds$/)]);
    expect(await info.locator('dd').allTextContents()).toEqual([DISK_HELP, LATENCY_HELP]);
    await page.screenshot({ path: join(RESULTS, 'explore-metadata-1366.png') });
    // A metric nobody described shows nothing.
    await setQuery(page, 'e2e_nothing_here_total', 'PromQL');
    await poll(() => info.locator('dt').count()).toBe(0);
  });

  it('shows a syntax error inline', async () => {
    const box = editor(page, 'PromQL');
    await box.fill('sum(rate(e2e_disk_bytes[5m])');
    await poll(() => page.locator('.query-issues').first().textContent()).toMatch(/^Error at character \d+/);
    expect(await page.locator('.cm-lintRange-error').count()).toBeGreaterThan(0);
  });

  it('charts large byte values with readable SI labels over exactly the chosen range', async () => {
    await setQuery(page, 'e2e_disk_bytes', 'PromQL');
    await page.getByLabel('Time range', { exact: true }).selectOption('3600');
    await poll(() => page.locator('.query-status').first().textContent()).toMatch(/^2 series/);
    const p = await plot(page, 'explore');
    expect(p.series).toBe(2);
    for (const l of p.yLabels) expect(l).toMatch(/^-?\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)$/);
    expect(p.yLabels.some((l) => l.endsWith('GiB'))).toBe(true);
    expect(p.yAxisWidth).toBeGreaterThanOrEqual(p.widestLabel);
    // The x axis spans the last hour, not the 10 minutes where samples are.
    expect(p.xMax - p.xMin).toBeCloseTo(3600, -1);
    expect(Math.abs(p.xMax - Date.now() / 1000)).toBeLessThan(60);
    await page.screenshot({ path: join(RESULTS, 'explore-chart-1366.png'), fullPage: true });
  });

  it('lists every series with its sample times in the table', async () => {
    await page.getByRole('tab', { name: 'Table' }).first().click();
    const rows = page.locator('.query-panel').first().locator('table.responsive tbody tr');
    await poll(() => rows.count()).toBe(2);
    for (const r of await rows.all()) {
      expect(await r.locator('time').count()).toBe(2);
      expect(await r.locator('td').nth(1).textContent()).toMatch(/GiB$/);
      expect(Number(await r.locator('td').last().textContent())).toBeGreaterThan(30);
    }
    expect(await layoutProblems(page)).toEqual([]);
    await page.screenshot({ path: join(RESULTS, 'explore-table-1366.png'), fullPage: true });
    await page.getByRole('tab', { name: 'Chart' }).first().click();
  });

  it('says "No data" for an empty result', async () => {
    await setQuery(page, 'e2e_nothing_here_total', 'PromQL');
    await page.getByRole('button', { name: 'Run query' }).click();
    const noData = page.locator('.query-panel .no-data').first();
    await poll(() => page.locator('.query-status').first().textContent()).toMatch(/^0 series/);
    await poll(() => noData.isVisible()).toBe(true);
    expect(await noData.textContent()).toMatch(/^No data/);
    expect(await page.locator('.query-panel').first().locator('.chart').isHidden()).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'explore-nodata-1366.png') });
  });

  it('draws several queries and keeps them and a custom range in the URL across a reload', async () => {
    await setQuery(page, 'e2e_disk_bytes{device="sda"}', 'PromQL');
    await page.getByRole('button', { name: 'Add query' }).click();
    await setQuery(page, 'e2e_latency_seconds', 'PromQL (query 2)');
    await page.getByLabel('Time range', { exact: true }).selectOption('custom');
    const to = Math.floor(Date.now() / 1000);
    const from = to - 1800;
    const local = (s: number) => new Date(s * 1000 - new Date(s * 1000).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await page.getByLabel('From', { exact: true }).fill(local(from));
    await page.getByLabel('To', { exact: true }).fill(local(to));
    await page.getByRole('button', { name: 'Run query' }).click();
    await poll(() => page.locator('.query-status').allTextContents()).toEqual([expect.stringMatching(/^1 series/), expect.stringMatching(/^1 series/)]);
    const latency = await plot(page, 'explore-2');
    for (const l of latency.yLabels) expect(l).toMatch(/^-?\d+(\.\d+)? (ms|µs|s)$|^0 s$/);
    expect([latency.xMin, latency.xMax]).toEqual([from, to]);

    const url = new URL(page.url());
    const params = new URLSearchParams(url.hash.split('?')[1]);
    expect(params.getAll('q')).toEqual(['e2e_disk_bytes{device="sda"}', 'e2e_latency_seconds']);
    expect([params.get('from'), params.get('to')]).toEqual([String(from), String(to)]);

    const fresh = await context.newPage();
    await fresh.goto(url.toString());
    await poll(() => fresh.locator('.query-status').allTextContents()).toEqual([expect.stringMatching(/^1 series/), expect.stringMatching(/^1 series/)]);
    expect(await editor(fresh, 'PromQL').textContent()).toBe('e2e_disk_bytes{device="sda"}');
    expect(await editor(fresh, 'PromQL (query 2)').textContent()).toBe('e2e_latency_seconds');
    expect(await fresh.getByLabel('Time range', { exact: true }).inputValue()).toBe('custom');
    const again = await plot(fresh, 'explore');
    expect([again.xMin, again.xMax]).toEqual([from, to]);
    await fresh.screenshot({ path: join(RESULTS, 'explore-two-queries-1366.png'), fullPage: true });

    await fresh.getByRole('button', { name: 'Remove query 2' }).click();
    await poll(() => fresh.locator('.query-panel').count()).toBe(1);
    expect(new URLSearchParams(new URL(fresh.url()).hash.split('?')[1]).getAll('q')).toEqual(['e2e_disk_bytes{device="sda"}']);
    await fresh.close();
  });

  for (const width of [1366, 390]) {
    it(`lays out every page at ${width} px without cut cells or sideways scrolling`, async () => {
      await page.setViewportSize({ width, height: width > 500 ? 768 : 844 });
      const pages: [string, string, () => Promise<unknown>][] = [
        ['workspaces', '#/workspaces', () => page.locator('table.workspaces tbody tr').first().waitFor()],
        ['workspace', `#/workspaces/${workspaceId}`, () => page.locator('.figure-value').first().waitFor()],
        ['explore', `#/explore/${workspaceId}?range=3600&q=e2e_disk_bytes&q=e2e_latency_seconds`, () => poll(() => page.locator('.query-status').allTextContents()).toEqual([expect.stringMatching(/series/), expect.stringMatching(/series/)])],
        ['protection', '#/protection', () => page.locator('.checklist li').first().waitFor()],
      ];
      for (const [name, hash, ready] of pages) {
        await page.goto(`${srv.baseUrl}/console/${hash}`);
        await ready();
        await page.waitForTimeout(300); // charts fit to their width after layout
        if (name === 'explore') {
          await page.getByRole('tab', { name: 'Table' }).first().click();
        }
        if (name === 'protection') await page.locator('.table-scroll table tbody tr').first().waitFor();
        expect(await layoutProblems(page), `${name} at ${width} px`).toEqual([]);
        const shot = await page.screenshot({ path: join(RESULTS, `${name}-${width}.png`), fullPage: true });
        if (width > 760) {
          // The sidebar's colour reaches the bottom of the full page, however long.
          const size = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]);
          expect(await pixel(page, shot, 5, size[1]! - 5), `${name}: sidebar colour at the bottom`).toEqual([15, 23, 42]);
        }
        if (name === 'protection') {
          // Workspace ids in the activity log stay on one line (two at most on a phone).
          const heights = await page.locator('.table-scroll td code.nowrap').evaluateAll((els) => els.filter((e) => /^ws-/.test(e.textContent ?? '')).map((e) => e.getBoundingClientRect().height / (1.5 * parseFloat(getComputedStyle(e).fontSize))));
          expect(heights.length).toBeGreaterThan(0);
          for (const lines of heights) expect(lines).toBeLessThan(width > 760 ? 1.5 : 2.5);
        }
      }
      if (width === 390) {
        await page.goto(`${srv.baseUrl}/console/#/explore/${workspaceId}?range=3600&q=e2e_disk_bytes`);
        await poll(() => page.locator('.query-status').first().textContent()).toMatch(/^2 series/);
        const p = await plot(page, 'explore');
        expect(p.yAxisWidth).toBeGreaterThanOrEqual(p.widestLabel);
        await editor(page, 'PromQL').click();
        await page.keyboard.press('End');
        await page.keyboard.type(' / e2e_di');
        await poll(() => page.locator('.cm-tooltip-autocomplete li').allTextContents()).toContainEqual(expect.stringContaining('e2e_disk_bytes'));
        const tip = await page.locator('.cm-tooltip-autocomplete').boundingBox();
        expect(tip!.x).toBeGreaterThanOrEqual(0);
        expect(tip!.x + tip!.width).toBeLessThanOrEqual(390);
        await page.screenshot({ path: join(RESULTS, 'explore-completion-390.png') });
        await page.keyboard.press('Escape');
      }
    });
  }

  it('raised no Content-Security-Policy violation (the editor styles itself through the CSSOM)', () => {
    expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });
});

/** The editor's content element (CodeMirror's role=textbox inside the editor's shadow root). */
function editor(page: Page, label: string) {
  return page.getByRole('textbox', { name: label, exact: true });
}

/** What uPlot holds for a chart: the x scale, the y labels it drew and the y axis width. */
async function plot(page: Page, name: string): Promise<PlotView> {
  await poll(() => page.evaluate((n) => !!(window as unknown as { ampuleCharts?: Record<string, unknown> }).ampuleCharts?.[n], name)).toBe(true);
  return page.evaluate((n) => {
    const u = (window as unknown as { ampuleCharts: Record<string, unknown> }).ampuleCharts[n] as {
      scales: { x: { min: number; max: number } };
      axes: { _values?: string[]; _size?: number; font?: [string] }[];
      series: unknown[];
      ctx: CanvasRenderingContext2D;
    };
    const labels = (u.axes[1]!._values ?? []).map(String);
    const ctx = document.createElement('canvas').getContext('2d')!;
    ctx.font = u.axes[1]!.font?.[0] ?? '12px system-ui';
    return {
      xMin: u.scales.x.min,
      xMax: u.scales.x.max,
      yLabels: labels,
      yAxisWidth: u.axes[1]!._size ?? 0,
      widestLabel: Math.max(0, ...labels.map((l) => ctx.measureText(l).width)) + 6,
      series: u.series.length - 1,
    };
  }, name);
}

/**
 * Boxes that break the layout: sideways page scroll, and table cells that stick out of their
 * table, out of the part of the page that is visible (a scrolling or clipping ancestor, the
 * viewport), or whose own content does not fit (cells made to ellipsize say so with a title).
 */
function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth + 1) out.push(`page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    for (const table of document.querySelectorAll('table')) {
      if (table.getClientRects().length === 0) continue;
      const t = table.getBoundingClientRect();
      let left = 0, right = doc.clientWidth;
      for (let a = table.parentElement; a; a = a.parentElement) {
        if (getComputedStyle(a).overflowX === 'visible') continue;
        const r = a.getBoundingClientRect();
        left = Math.max(left, r.left);
        right = Math.min(right, r.right);
      }
      for (const cell of table.querySelectorAll<HTMLElement>('th, td')) {
        const head = cell.closest('thead');
        if (head && getComputedStyle(head).clipPath !== 'none') continue; // visually hidden header of a stacked table
        if (cell.getClientRects().length === 0) continue;
        const r = cell.getBoundingClientRect();
        const what = `${table.className || 'table'} cell "${(cell.textContent ?? '').trim().slice(0, 30)}"`;
        if (r.right > Math.min(right, t.right) + 1 || r.left < Math.max(left, t.left) - 1) out.push(`${what} cut: [${Math.round(r.left)}, ${Math.round(r.right)}] outside [${Math.round(Math.max(left, t.left))}, ${Math.round(Math.min(right, t.right))}]`);
        if (cell.scrollWidth > cell.clientWidth + 1 && !cell.title) out.push(`${what} overflows its cell: ${cell.scrollWidth} > ${cell.clientWidth}`);
      }
    }
    return out;
  });
}

/** The RGB of one pixel of a PNG screenshot, decoded by the page itself (img-src allows data:). */
function pixel(page: Page, png: Buffer, x: number, y: number): Promise<number[]> {
  return page.evaluate(
    async ({ b64, x, y }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      return [...ctx.getImageData(x, Math.min(y, img.height - 1), 1, 1).data.slice(0, 3)];
    },
    { b64: png.toString('base64'), x, y },
  );
}

/** @codemirror/autocomplete's default interactionDelay (renderer/promql-editor.ts keeps it). */
const COMPLETION_INTERACTION_DELAY_MS = 75;

function poll<T>(f: () => Promise<T> | T) {
  return expect.poll(f, { timeout: 15_000, interval: 100 });
}
