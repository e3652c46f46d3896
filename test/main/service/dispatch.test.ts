// The contract's runtime description and the generic adapter every transport uses.
import { describe, expect, it } from 'vitest';
import { API_METHODS, API_SPEC, ApiError, type AmpuleApi } from '../../../shared/api';
import { createApiClient } from '../../../shared/api-client';
import { checkArgs, ValidationError } from '../../../shared/validate';
import { ControlError } from '../../../main/control/types';
import { KeyStoreError } from '../../../main/crypto/types';
import { dispatch, httpStatusOf, toApiErrorData } from '../../../main/service/dispatch';

/** A service whose every method records its arguments: enough to see what the adapter passes on. */
function recordingApi(): { api: AmpuleApi; calls: [string, unknown[]][] } {
  const calls: [string, unknown[]][] = [];
  const api = Object.fromEntries(API_METHODS.map((m) => [m, async (...args: unknown[]) => (calls.push([m, args]), `${m}-result`)])) as unknown as AmpuleApi;
  return { api, calls };
}

describe('API_SPEC validators', () => {
  const args = (m: keyof typeof API_SPEC, a: unknown) => checkArgs(API_SPEC[m].args as never, a, m);

  it('describes every method of the contract', () => {
    expect(API_METHODS.length).toBeGreaterThan(20);
    for (const m of API_METHODS) expect(Array.isArray(API_SPEC[m].args)).toBe(true);
  });

  it('accepts well-formed arguments and returns them', () => {
    expect(args('createWorkspace', [{ alias: 'prod', tags: { team: 'sre' } }])).toEqual([{ alias: 'prod', tags: { team: 'sre' } }]);
    expect(args('createToken', ['ws-abc123', { name: 'p', scopes: ['remote_write', 'query'], expiresInDays: 30 }])).toHaveLength(2);
    expect(args('queryRange', ['ws-abc123', { query: 'up', start: 1, end: 2, step: 1 }])).toHaveLength(2);
    expect(args('listActivity', [{}])).toEqual([{}]);
  });

  it.each([
    ['createWorkspace', [{ alias: '' }], /alias: must not be empty/],
    ['createWorkspace', [{ alias: 'a\u0000b' }], /control characters/],
    ['createWorkspace', [{ alias: 'x'.repeat(101) }], /at most 100/],
    ['createWorkspace', [{ alias: 'ok', admin: true }], /admin: is not a known field/],
    ['createWorkspace', [{ alias: 'ok', tags: { 'bad<key>': 'v' } }], /tags key/],
    ['createWorkspace', ['prod'], /expected an object/],
    ['describeWorkspace', ['../etc/passwd'], /workspace id/],
    ['describeWorkspace', [42], /expected a string/],
    ['createToken', ['ws-a1', { name: 'n', scopes: [] }], /at least 1/],
    ['createToken', ['ws-a1', { name: 'n', scopes: ['root'] }], /one of remote_write, query, admin/],
    ['createToken', ['ws-a1', { name: 'n', scopes: ['query', 'query'] }], /must not repeat/],
    ['createToken', ['ws-a1', { name: 'n', scopes: ['query'], expiresInDays: 1.5 }], /integer/],
    ['queryRange', ['ws-a1', { query: 'up', start: 0, end: 1, step: Number.NaN }], /finite number/],
    ['listActivity', [{ limit: 10_000 }], /≤ 500/],
    ['listWorkspaces', ['extra'], /at most 0 argument/],
  ] as const)('%s refuses %j', (method, a, message) => {
    expect(() => args(method, a)).toThrow(ValidationError);
    expect(() => args(method, a)).toThrow(message);
  });

  it('refuses objects that are not plain (prototype tricks)', () => {
    const evil = JSON.parse('{"alias":"x","__proto__":{"admin":true}}');
    expect(() => args('createWorkspace', [evil])).toThrow(/__proto__: is not a known field/);
    expect(() => args('createWorkspace', [new Map()])).toThrow(/expected an object/);
    const evilTags = JSON.parse('{"alias":"x","tags":{"__proto__":"y"}}');
    expect(() => args('createWorkspace', [evilTags])).toThrow(/not allowed/);
  });
});

describe('dispatch', () => {
  it('calls the method with the validated arguments and wraps the result', async () => {
    const { api, calls } = recordingApi();
    expect(await dispatch(api, 'renameWorkspace', ['ws-a1', 'new name'])).toEqual({ ok: true, value: 'renameWorkspace-result' });
    expect(calls).toEqual([['renameWorkspace', ['ws-a1', 'new name']]]);
  });

  it('never calls the service with invalid arguments or an unknown method', async () => {
    const { api, calls } = recordingApi();
    expect(await dispatch(api, 'deleteWorkspace', ['ws-a1'])).toMatchObject({ ok: false, error: { kind: 'invalid', field: 'deleteWorkspace argument 2' } });
    expect(await dispatch(api, 'constructor', [])).toMatchObject({ ok: false, error: { kind: 'not_found' } });
    expect(await dispatch(api, 'toString', [])).toMatchObject({ ok: false, error: { kind: 'not_found' } });
    expect(await dispatch(api, 'listWorkspaces', 'not-an-array')).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(calls).toEqual([]);
  });

  it('maps appliance errors to kinds the UI acts on, hiding unknown messages', () => {
    expect(toApiErrorData(new ControlError('not_found', 'no workspace ws-x', 'workspaceId'))).toEqual({ kind: 'not_found', message: 'no workspace ws-x', field: 'workspaceId' });
    expect(toApiErrorData(new ControlError('read_only', 'control.db is read-only')).kind).toBe('unavailable');
    expect(toApiErrorData(new KeyStoreError('locked', 'the keychain is locked', 'unlock it'))).toEqual({ kind: 'unavailable', message: 'the keychain is locked', advice: 'unlock it' });
    const hidden = toApiErrorData(new Error('label value secret-customer-data broke'));
    expect(hidden.kind).toBe('internal');
    expect(hidden.message).not.toContain('secret-customer-data');
    expect(httpStatusOf('rate_limited')).toBe(429);
  });

  it('round-trips through the client: envelopes become thrown ApiErrors', async () => {
    const { api } = recordingApi();
    const client = createApiClient((method, a) => dispatch(api, method, a));
    expect(await client.listWorkspaces()).toBe('listWorkspaces-result');
    const err = await client.describeWorkspace('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).kind).toBe('invalid');
  });
});
