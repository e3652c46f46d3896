// The IPC adapter's decision path without Electron: sender first, then arguments, then the route.
import { describe, expect, it } from 'vitest';
import { API_METHODS, type ApiMethod } from '../../../shared/api';
import { handleApiCall, senderInfo } from '../../../main/app/ipc';

const trusted = { webContentsId: 3, frameUrl: 'app://ampule/index.html', isMainFrame: true };

function recorder() {
  const calls: { method: ApiMethod; args: readonly unknown[] }[] = [];
  const route = async (method: ApiMethod, args: readonly unknown[]) => {
    calls.push({ method, args });
    return { ok: true as const, value: 'routed' };
  };
  return { calls, route };
}

describe('handleApiCall', () => {
  it('routes a valid call from our window with its validated arguments', async () => {
    const r = recorder();
    const result = await handleApiCall('createWorkspace', [{ alias: 'prod', tags: { team: 'infra' } }], trusted, 3, r.route);
    expect(result).toEqual({ ok: true, value: 'routed' });
    expect(r.calls).toEqual([{ method: 'createWorkspace', args: [{ alias: 'prod', tags: { team: 'infra' } }] }]);
  });

  it('refuses an untrusted sender before looking at the arguments', async () => {
    const r = recorder();
    for (const sender of [
      { ...trusted, webContentsId: 4 },
      { ...trusted, isMainFrame: false },
      { ...trusted, frameUrl: 'https://evil.example/' },
      { ...trusted, frameUrl: null },
    ]) {
      const result = await handleApiCall('createWorkspace', ['not even valid'], sender, 3, r.route);
      expect(result).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    }
    expect(await handleApiCall('listWorkspaces', [], trusted, null, r.route)).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    expect(r.calls).toHaveLength(0);
  });

  it('refuses bad arguments with the field at fault, without routing', async () => {
    const r = recorder();
    const cases: [ApiMethod, unknown[], string][] = [
      ['describeWorkspace', ['../../etc'], 'describeWorkspace argument 1'],
      ['createWorkspace', [{ alias: 'x', extra: 1 }], 'createWorkspace argument 1.extra'],
      ['createToken', ['ws-abc', { name: 't', scopes: ['root'] }], 'createToken argument 2.scopes[0]'],
      ['listWorkspaces', [1], 'listWorkspaces'],
      ['queryRange', ['ws-abc', { query: 'up', start: 0, end: 1, step: Number.NaN }], 'queryRange argument 2.step'],
    ];
    for (const [method, args, field] of cases) {
      const result = await handleApiCall(method, args, trusted, 3, r.route);
      expect(result, method).toMatchObject({ ok: false, error: { kind: 'invalid', field } });
    }
    expect(r.calls).toHaveLength(0);
  });

  it('covers every method of the contract', async () => {
    // A call with no arguments is either routed (no-arg methods) or refused as invalid: never thrown.
    const r = recorder();
    for (const m of API_METHODS) {
      const result = await handleApiCall(m, [], trusted, 3, r.route);
      expect(result.ok || result.error.kind === 'invalid', m).toBe(true);
    }
  });
});

/** Stands in for Electron's IpcMainInvokeEvent (no Electron runtime here): only what senderInfo reads. */
function fakeInvokeEvent(frame: { url: string; parent: object | null; processId: number; routingId: number } | null, main = { processId: 1, routingId: 1 }) {
  return { sender: { id: 3, mainFrame: main }, senderFrame: frame } as unknown as Parameters<typeof senderInfo>[0];
}

describe('senderInfo', () => {
  it('reads the main frame of the sending page', () => {
    expect(senderInfo(fakeInvokeEvent({ url: 'app://ampule/index.html', parent: null, processId: 1, routingId: 1 }))).toEqual({ webContentsId: 3, frameUrl: 'app://ampule/index.html', isMainFrame: true });
  });
  it('marks subframes and destroyed frames untrusted', () => {
    expect(senderInfo(fakeInvokeEvent({ url: 'app://ampule/x.html', parent: {}, processId: 1, routingId: 2 })).isMainFrame).toBe(false);
    expect(senderInfo(fakeInvokeEvent({ url: 'app://ampule/x.html', parent: null, processId: 2, routingId: 1 })).isMainFrame).toBe(false);
    expect(senderInfo(fakeInvokeEvent(null))).toEqual({ webContentsId: 3, frameUrl: null, isMainFrame: false });
  });
});
