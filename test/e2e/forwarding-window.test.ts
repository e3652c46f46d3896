// The workspace page's Forwarding section in real Chromium against a real `ampule serve` that
// forwards to two destinations added through the CLI: Debian's Prometheus 2.42 (remote-write
// receiver over TLS) and a receiver that is down. Samples remote-written into Ampule arrive at
// Prometheus and the section shows, refreshing by itself, per destination: name, the receiver's
// host only (no path, no credential), protocol, lag, samples sent/failed/retried/dropped and the
// down one's last error — at a laptop and a 390 px phone width with nothing overflowing sideways,
// and no console or CSP errors. Screenshots go to test-results/.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { freePort } from '../local-peers';
import { encodeV1, snappy } from '../main/ingest/encode';
import { HAVE_PROMETHEUS, instantQuery, startPrometheus, type RealReceiver } from '../main/forward/real-receivers';
import { makeTls, type TlsFixture } from '../main/forward/tls-fixture';
import { consoleSkipReason, launchChromium, RESULTS, startConsoleServer, type ConsoleServer } from './console-server';
import { remoteWrite, signedInConsole } from './window-flows';

const PASSWORD = 'e2e forwarding password 42';
const skip = consoleSkipReason ?? (HAVE_PROMETHEUS ? null : '/usr/bin/prometheus missing: apt-get install prometheus');
if (skip) console.log(`forwarding window e2e skipped: ${skip}`);
const SERIES = 3;
const POINTS = 40;

describe.skipIf(skip !== null)('Forwarding section of the workspace page in Chromium', () => {
  let tls: TlsFixture;
  let prom: RealReceiver;
  let srv: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let workspaceId = '';
  let token = '';
  let downPort = 0;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    tls = await makeTls();
    prom = await startPrometheus(tls, 'prom-window');
    downPort = await freePort(); // nothing listens there: the receiver is down
    srv = await startConsoleServer(PASSWORD, 'ampule-e2e-forward-', (cli) => {
      const ws = cli('workspace', 'create', '--alias', 'forward-e2e', '--json');
      workspaceId = (JSON.parse(String(ws.stdout)) as { workspaceId: string }).workspaceId;
      const tok = cli('token', 'create', '--workspace', workspaceId, '--scope', 'remote_write', '--json');
      token = (JSON.parse(String(tok.stdout)) as { token: string }).token;
      const dir = join(tls.dir, 'defs');
      mkdirSync(dir, { recursive: true });
      const ca = JSON.stringify(tls.caPem);
      writeFileSync(join(dir, 'prom.yml'), `name: central-prometheus\nurl: ${prom.writeUrl.href}\ntls_config: { ca: ${ca} }\nqueue_config: { batch_send_deadline: 200ms }\n`);
      writeFileSync(
        join(dir, 'down.yml'),
        `name: mimir-down\nurl: https://127.0.0.1:${downPort}/api/v1/push\nprotobuf_message: io.prometheus.write.v2.Request\nheaders: { X-Scope-OrgID: team-a }\n` +
          `basic_auth: { username: edge, password: hunter2-secret }\ntls_config: { ca: ${ca} }\nqueue_config: { batch_send_deadline: 200ms, min_backoff: 100ms, max_backoff: 500ms }\n`,
      );
      for (const f of ['prom.yml', 'down.yml']) {
        const r = cli('forward', 'add', '--workspace', workspaceId, '--file', join(dir, f));
        if (r.status !== 0) throw new Error(`forward add ${f} failed: ${String(r.stderr)}`);
      }
    });
    browser = await launchChromium();
    page = await signedInConsole(browser, srv.baseUrl, PASSWORD, consoleErrors);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
    await prom?.stop();
    tls?.cleanup();
  });

  const section = () => page.locator('section.card', { has: page.getByRole('heading', { name: 'Forwarding' }) });
  const row = (name: string) => section().locator('tbody tr', { hasText: name });
  const cell = (name: string, column: string) => row(name).locator(`td[data-label="${column}"]`);

  it('shows both destinations, then the samples reaching Prometheus, without a reload', async () => {
    await page.goto(`${srv.baseUrl}/console/#/workspaces/${workspaceId}`);
    await row('central-prometheus').waitFor();
    expect(await cell('central-prometheus', 'Sent').textContent()).toBe('0');
    expect(await cell('central-prometheus', 'Receiver').textContent()).toBe(prom.base.host);
    expect(await cell('central-prometheus', 'Protocol').textContent()).toBe('remote write 1.0');
    expect(await cell('mimir-down', 'Receiver').textContent()).toBe(`127.0.0.1:${downPort}`);
    expect(await cell('mimir-down', 'Protocol').textContent()).toBe('remote write 2.0');

    const now = Date.now();
    const series = Array.from({ length: SERIES }, (_, i) => ({
      labels: [['__name__', 'e2e_forwarded'], ['i', String(i)]] as [string, string][],
      samples: Array.from({ length: POINTS }, (_, j) => ({ t: now - (POINTS - j) * 1000, v: i * 100 + j })),
    }));
    const ca = readFileSync(join(srv.dataDir, 'tls', 'ca.crt'), 'utf8');
    expect(await remoteWrite(`${srv.baseUrl}/workspaces/${workspaceId}/api/v1/remote_write`, ca, token, snappy(encodeV1(series)))).toBe(204);

    // The section refreshes by itself: the count and the down receiver's error appear.
    const total = String(SERIES * POINTS);
    await expect.poll(() => cell('central-prometheus', 'Sent').textContent(), { timeout: 30_000 }).toBe(total);
    await expect.poll(() => cell('mimir-down', 'Last error').textContent(), { timeout: 30_000 }).toMatch(/ECONNREFUSED|connect/i);
    expect(await cell('mimir-down', 'Sent').textContent()).toBe('0');
    expect(Number((await cell('mimir-down', 'Failed').textContent())!.replace(/,/g, '')) + Number((await cell('mimir-down', 'Retried').textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await cell('central-prometheus', 'Last error').textContent()).toBe('—');
    expect(await cell('central-prometheus', 'Dropped').textContent()).toBe('0');
    expect(await cell('central-prometheus', 'Lag').textContent()).toMatch(/^\d+(\.\d)? s$|min|h/);
    // What Prometheus holds agrees.
    expect([...(await instantQuery(prom, tls.caPem, 'count_over_time(e2e_forwarded[5m])', now / 1000)).values()]).toEqual(Array(SERIES).fill(String(POINTS)));

    // Nothing secret or beyond the host reaches the page.
    const text = (await section().textContent())!;
    for (const secret of ['hunter2-secret', 'team-a', '/api/v1/push', '/api/v1/write']) expect(text).not.toContain(secret);
    await page.screenshot({ path: join(RESULTS, 'forwarding-1366.png'), fullPage: true });
  }, 90_000);

  it('fits a phone width without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await row('mimir-down').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // Each cell of the section stays inside the card (a long error wraps).
    const outside = await section().evaluate((card) => {
      const box = card.getBoundingClientRect();
      return [...card.querySelectorAll('td')].filter((td) => td.getBoundingClientRect().right > box.right + 0.5).map((td) => td.getAttribute('data-label'));
    });
    expect(outside).toEqual([]);
    await page.screenshot({ path: join(RESULTS, 'forwarding-390.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });
});
