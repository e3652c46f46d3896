// The Tenant on a real appliance (key file, encrypted store): its limits are cached and follow a
// change at once without reopening the store, from the API contract and from the CLI, each change
// in the activity log; the default ingestion rate can be raised.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openAppliance } from '../../../main/core/open-appliance';
import type { Appliance } from '../../../main/core/appliance';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { createServiceRuntime, type ServiceRuntime } from '../../../main/service/runtime';
import { consoleStatus } from '../../../main/console/credentials';
import { dispatch } from '../../../main/service/dispatch';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';
import { runCli, tempKeyFileDir } from './key-file-dir';

let dir: string;
let keyFile: string;
let app: Appliance;
let runtime: ServiceRuntime;
beforeEach(async () => {
  ({ dir, keyFile } = tempKeyFileDir('ampule-tenant-'));
  app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
  runtime = createServiceRuntime(app, { consoleStatus: () => consoleStatus(app.dataDir) });
});
afterEach(() => {
  runtime.close();
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One request of `n` new series, one sample each, at `t`. */
const batch = (n: number, t: number, prefix = 's') =>
  snappy(encodeV1(Array.from({ length: n }, (_, i) => ({ labels: [['__name__', 'm'], ['i', `${prefix}${i}`]] as [string, string][], samples: [{ t, v: i }] }))));
const write = (app: Appliance, ws: string, body: Buffer, now: number) => app.tenant(ws).ingest({ body, contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined }, now);

describe('Tenant', () => {
  it('is one per open workspace, with the default limits until some are set', () => {
    const ws = app.control.createWorkspace({ alias: 't' }).workspaceId;
    const t = app.tenant(ws);
    expect(app.tenant(ws)).toBe(t);
    expect(app.store(ws)).toBe(t.store);
    expect(t.limits).toMatchObject(DEFAULT_LIMITS);
    app.closeStore(ws);
    expect(app.tenant(ws)).not.toBe(t);
  });

  it('applies a limit change from the API at once, keeps the store open, and logs it', async () => {
    const ws = app.control.createWorkspace({ alias: 'rates' }).workspaceId;
    const api = runtime.api('desktop', () => null);
    await api.setLimits(ws, { ingestionRate: 10, ingestionBurst: 20 });
    const tenant = app.tenant(ws);
    const now = Date.now();
    expect((await write(app, ws, batch(15, now), now)).status).toBe(204);
    const throttled = await write(app, ws, batch(15, now, 'b'), now);
    expect(throttled.status).toBe(429);
    expect(throttled.message).toContain('ingestionRate=10 samples/s');
    expect(tenant.rejected().get('rate_limit')).toBe(15);

    // Raised far above the default (AMP's 170k/s): the same tenant lets the request in.
    const raised = await api.setLimits(ws, { ingestionRate: 2_000_000, ingestionBurst: 20_000_000 });
    expect(raised.limits.ingestionRate).toBe(2_000_000);
    expect(raised.overridden).toEqual(['ingestionRate', 'ingestionBurst']);
    expect(app.tenant(ws)).toBe(tenant);
    expect((await write(app, ws, batch(15, now, 'b'), now)).status).toBe(204);
    expect(await api.getLimits(ws)).toEqual(raised);

    const log = app.activity.list({ workspaceId: ws, action: 'limits.set' });
    expect(log.entries.map((e) => [e.actor, e.detail])).toEqual(expect.arrayContaining([
      ['desktop', expect.stringContaining('ingestionRate=2000000')],
      ['desktop', expect.stringContaining('ingestionRate=10')],
    ]));
  });

  it('refuses bad limits through the contract with a named field', async () => {
    const ws = app.control.createWorkspace({ alias: 'bad' }).workspaceId;
    const api = runtime.api('desktop', () => null);
    expect(await dispatch(api, 'setLimits', [ws, { ingestionRate: 0 }])).toMatchObject({ ok: false, error: { kind: 'invalid', field: 'ingestionRate' } });
    expect(await dispatch(api, 'setLimits', [ws, { ingestionRat: 5 }])).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(await dispatch(api, 'setLimits', [ws, { activeSeries: 1.5 }])).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect((await api.getLimits(ws)).overridden).toEqual([]);
  });

  it('reopens the store when the out-of-order window changes (the store applies it at open)', async () => {
    const ws = app.control.createWorkspace({ alias: 'ooo' }).workspaceId;
    const now = Date.now();
    expect((await write(app, ws, batch(1, now), now)).status).toBe(204);
    expect((await write(app, ws, batch(1, now - 60_000), now)).rejected).toEqual([{ reason: 'out_of_order', count: 1 }]);
    const before = app.tenant(ws);
    app.control.setLimits(ws, { outOfOrderWindowMs: 600_000 });
    expect(app.tenant(ws)).not.toBe(before);
    expect((await write(app, ws, batch(1, now - 60_000), now)).status).toBe(204);
  });
});

describe('ampule limits', () => {
  it('shows the defaults, sets some limits, and records the change', async () => {
    app.close();
    runtime.close();
    const made = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
    const ws = made.control.createWorkspace({ alias: 'cli' }).workspaceId;
    made.close();

    const shown = await runCli(dir, keyFile, ['limits', 'show', '--workspace', ws]);
    expect(shown.status).toBe(0);
    expect(shown.out.join('\n')).toMatch(/ingestion-rate\s+170000\s+\(default\)/);

    const set = await runCli(dir, keyFile, ['limits', 'set', '--workspace', ws, '--ingestion-rate', '500000', '--active-series', '2000000', '--json']);
    expect(set.status).toBe(0);
    const info = JSON.parse(set.out.join('\n')) as { limits: Record<string, number>; overridden: string[] };
    expect(info.limits).toMatchObject({ ingestionRate: 500_000, activeSeries: 2_000_000, ingestionBurst: DEFAULT_LIMITS.ingestionBurst });
    expect(info.overridden.sort()).toEqual(['activeSeries', 'ingestionRate']);

    const bad = await runCli(dir, keyFile, ['limits', 'set', '--workspace', ws, '--ingestion-rate', 'fast']);
    expect(bad.status).toBe(2);
    expect(bad.err.join('\n')).toContain('--ingestion-rate must be a whole number');
    expect((await runCli(dir, keyFile, ['limits', 'set', '--workspace', ws])).status).toBe(2);

    app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
    runtime = createServiceRuntime(app, { consoleStatus: () => consoleStatus(app.dataDir) });
    expect(app.tenant(ws).limits.ingestionRate).toBe(500_000);
    expect(app.activity.list({ workspaceId: ws, action: 'limits.set' }).entries[0]).toMatchObject({ actor: 'cli', detail: expect.stringContaining('activeSeries=2000000') });
  });
});
