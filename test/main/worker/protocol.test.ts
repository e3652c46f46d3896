// The worker protocol's structural guards: what crosses the hop is checked before it is used.
import { describe, expect, it } from 'vitest';
import { isCoreReply, isCoreRequest } from '../../../main/worker/protocol';

describe('isCoreRequest', () => {
  it('accepts the four operations', () => {
    expect(isCoreRequest({ id: 1, op: 'open', options: { dataDir: '/d', listen: null } })).toBe(true);
    expect(isCoreRequest({ id: 2, op: 'call', method: 'listWorkspaces', args: [] })).toBe(true);
    expect(isCoreRequest({ id: 3, op: 'status' })).toBe(true);
    expect(isCoreRequest({ id: 4, op: 'shutdown' })).toBe(true);
  });
  it.each([null, 'x', [], { op: 'status' }, { id: 1.5, op: 'status' }, { id: 1, op: 'exec' }, { id: 1, op: 'call', method: 1, args: [] }, { id: 1, op: 'call', method: 'x', args: 'no' }, { id: 1, op: 'open', options: {} }])(
    'refuses %j',
    (m) => expect(isCoreRequest(m)).toBe(false),
  );
});

describe('isCoreReply', () => {
  it('needs an id and an envelope', () => {
    expect(isCoreReply({ id: 1, result: { ok: true, value: null } })).toBe(true);
    expect(isCoreReply({ id: 1, result: { value: null } })).toBe(false);
    expect(isCoreReply({ result: { ok: true } })).toBe(false);
  });
});
