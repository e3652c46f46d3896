import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ControlError } from '../../../main/control/types';
import { LAST_USED_RESOLUTION_MS } from '../../../main/control/control-plane';
import { filesContaining, testControl, type TestControl } from './helpers';

let t: TestControl;
beforeEach(() => {
  t = testControl();
});
afterEach(() => t.cleanup());

function invalid(f: () => unknown): ControlError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ControlError);
    expect((e as ControlError).kind).toBe('invalid');
    return e as ControlError;
  }
  throw new Error('expected ControlError invalid');
}

describe('workspaces', () => {
  it('creates, lists, describes with AMP field names', () => {
    const w = t.control.createWorkspace({ alias: 'prod-east', tags: { team: 'sre', env: '' } });
    expect(Object.keys(w).sort()).toEqual(['alias', 'createdAt', 'status', 'tags', 'workspaceId']);
    expect(w.workspaceId).toMatch(/^ws-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(w).toMatchObject({ alias: 'prod-east', status: 'ACTIVE', createdAt: '2026-01-01T00:00:00.000Z', tags: { team: 'sre', env: '' } });
    const w2 = t.control.createWorkspace({ alias: 'dev' });
    expect(w2.workspaceId).not.toBe(w.workspaceId);
    expect(t.control.listWorkspaces().map((x) => x.alias)).toEqual(['prod-east', 'dev']);
    expect(t.control.describeWorkspace(w.workspaceId)).toEqual(w);
  });

  it('updates the alias, adds, replaces and removes tags', () => {
    const { workspaceId } = t.control.createWorkspace({ alias: 'a', tags: { keep: '1', drop: '2', change: 'x' } });
    const u = t.control.updateWorkspace(workspaceId, { alias: 'b', tags: { change: 'y', add: 'z' }, removeTags: ['drop'] });
    expect(u.alias).toBe('b');
    expect(u.tags).toEqual({ keep: '1', change: 'y', add: 'z' });
    expect(t.control.describeWorkspace(workspaceId)).toEqual(u);
    expect(t.control.updateWorkspace(workspaceId, { tags: { more: '' } }).alias).toBe('b');
  });

  it('unknown or malformed ids are not_found', () => {
    for (const id of ['ws-00000000-0000-0000-0000-000000000000', 'nope', "'; DROP TABLE workspaces; --"]) {
      expect(() => t.control.describeWorkspace(id)).toThrow(expect.objectContaining({ kind: 'not_found', field: 'workspaceId' }));
    }
  });

  it('validates the alias, naming the field and the rule', () => {
    expect(invalid(() => t.control.createWorkspace({ alias: '' })).message).toBe('alias: must be 1 to 100 characters long (got 0)');
    expect(invalid(() => t.control.createWorkspace({ alias: 'x'.repeat(101) })).message).toBe('alias: must be 1 to 100 characters long (got 101)');
    expect(t.control.createWorkspace({ alias: '😀'.repeat(100) }).alias).toHaveLength(200); // counted in characters, not UTF-16 units
    expect(invalid(() => t.control.createWorkspace({ alias: 'a\nb' })).message).toMatch(/^alias: must not contain control characters/);
    expect(invalid(() => t.control.createWorkspace({ alias: 42 as unknown as string })).field).toBe('alias');
  });

  it('validates tags by the AWS rules', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ ['k'.repeat(129)]: 'v' }, /^tags: tag key must be 1 to 128 characters long \(got 129\)$/],
      [{ k: 'v'.repeat(257) }, /^tags: value of tag "k" must be 0 to 256 characters long \(got 257\)$/],
      [{ 'aws:owner': 'x' }, /must not start with "aws:"/],
      [{ 'AWS:owner': 'x' }, /must not start with "aws:"/],
      [{ 'bad*key': 'x' }, /may contain only letters, numbers, spaces and _ \. : \/ = \+ - @/],
      [{ k: 'semi;colon' }, /value of tag "k" may contain only/],
      [Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])), /^tags: at most 50 tags per workspace \(got 51\)$/],
    ];
    for (const [tags, message] of cases) {
      const e = invalid(() => t.control.createWorkspace({ alias: 'a', tags }));
      expect(e.field).toBe('tags');
      expect(e.message).toMatch(message);
    }
    // Allowed: unicode letters, spaces and the listed punctuation; empty values; exactly 50 tags.
    expect(t.control.createWorkspace({ alias: 'a', tags: { 'Équipe Ops_1.a:b/c=d+e-f@g': 'Zürich 9' } }).tags).toHaveProperty('Équipe Ops_1.a:b/c=d+e-f@g');
    const { workspaceId } = t.control.createWorkspace({ alias: 'b', tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, ''])) });
    expect(invalid(() => t.control.updateWorkspace(workspaceId, { tags: { one: 'more' } })).message).toMatch(/at most 50 tags/);
    expect(Object.keys(t.control.updateWorkspace(workspaceId, { tags: { one: 'more' }, removeTags: ['k0'] }).tags)).toHaveLength(50);
  });

  it('alias, tags and token names are never readable on disk (UTF-8 or UTF-16, db, -wal, -shm)', () => {
    const secrets = { alias: 'Customer-Alias-Zebra-7781', key: 'TagKeyQuokka', value: 'TagValueNarwhal', token: 'TokenNameAxolotl' };
    const { workspaceId } = t.control.createWorkspace({ alias: secrets.alias, tags: { [secrets.key]: secrets.value } });
    t.control.updateWorkspace(workspaceId, { alias: `${secrets.alias}-2` });
    t.control.createToken(workspaceId, { scopes: ['query'], name: secrets.token });
    expect(existsSync(join(t.dir, 'control.db-wal'))).toBe(true);
    for (const s of Object.values(secrets)) expect(filesContaining(t.dir, s)).toEqual([]);
    t.control.close();
    for (const s of Object.values(secrets)) expect(filesContaining(t.dir, s)).toEqual([]);
  });

  it('sealed metadata is bound to its workspace: moved to another one, it does not open', () => {
    const a = t.control.createWorkspace({ alias: 'a' }).workspaceId;
    const b = t.control.createWorkspace({ alias: 'b' }).workspaceId;
    const sealedA = (t.control.db.prepare('SELECT meta_sealed FROM workspaces WHERE id = ?').get(a) as { meta_sealed: Buffer }).meta_sealed;
    t.control.db.prepare('UPDATE workspaces SET meta_sealed = ? WHERE id = ?').run(sealedA, b);
    // The row MAC catches the move first; the seal's own binding stays as a second line.
    expect(() => t.control.describeWorkspace(b)).toThrow(/^control\.db is damaged: workspaces row ws-\S+: altered/);
    expect(t.control.describeWorkspace(a).alias).toBe('a');
  });

  it('delete destroys the data key first, then files, tokens and limits', () => {
    const { workspaceId } = t.control.createWorkspace({ alias: 'gone' });
    const { token } = t.control.createToken(workspaceId, { scopes: ['remote_write'] });
    t.control.setLimits(workspaceId, { activeSeries: 10 });
    const wrapped = (t.control.db.prepare('SELECT wrapped FROM data_keys WHERE workspace_id = ?').get(workspaceId) as { wrapped: Buffer }).wrapped;
    expect(filesContaining(t.dir, wrapped)).not.toEqual([]);
    t.control.deleteWorkspace(workspaceId);
    expect(t.removed).toEqual([workspaceId]);
    expect(t.control.listWorkspaces()).toEqual([]);
    expect(() => t.control.describeWorkspace(workspaceId)).toThrow(expect.objectContaining({ kind: 'not_found' }));
    expect(t.control.verifyToken(token)).toBeNull();
    for (const table of ['data_keys', 'tokens', 'limits']) {
      expect(t.control.db.prepare(`SELECT count(*) AS n FROM ${table}`).get()).toEqual({ n: 0 });
    }
    // Crypto-shredding: no copy of the wrapped key is left in any file (secure_delete + WAL truncated).
    expect(filesContaining(t.dir, wrapped)).toEqual([]);
    expect(() => t.control.deleteWorkspace(workspaceId)).toThrow(expect.objectContaining({ kind: 'not_found' }));
  });

  it('finishes a deletion a crash interrupted after the key was destroyed', () => {
    // The process dies right after the shredding transaction committed, while removing files.
    let crash = true;
    const c = testControl({
      removeWorkspaceData: (id) => {
        if (crash) throw new Error('killed');
        c.removed.push(id);
      },
    });
    onTestFinished(() => c.cleanup());
    const { workspaceId } = c.control.createWorkspace({ alias: 'half' });
    expect(() => c.control.deleteWorkspace(workspaceId)).toThrow('killed');
    expect(c.control.db.prepare(`SELECT status FROM workspaces WHERE id = ?`).get(workspaceId)).toEqual({ status: 'DELETING' });
    expect(c.control.db.prepare(`SELECT count(*) AS n FROM data_keys WHERE workspace_id = ?`).get(workspaceId)).toEqual({ n: 0 });
    expect(c.control.listWorkspaces()).toEqual([]);
    crash = false;
    c.control.finishPendingDeletes();
    expect(c.removed).toEqual([workspaceId]);
    expect(c.control.db.prepare('SELECT count(*) AS n FROM workspaces').get()).toEqual({ n: 0 });
  });

  it('records every action, without aliases, tags or secrets', () => {
    const { workspaceId } = t.control.createWorkspace({ alias: 'SecretAliasOkapi', tags: { t: 'SecretTagOkapi' } }, 'cli');
    t.control.updateWorkspace(workspaceId, { alias: 'SecretAliasOkapi2' }, 'cli');
    const { token, tokenId } = t.control.createToken(workspaceId, { scopes: ['remote_write'], name: 'SecretNameOkapi' }, 'cli');
    t.control.verifyToken(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'));
    t.control.revokeToken(tokenId, 'cli');
    t.control.setLimits(workspaceId, { activeSeries: 5 }, 'cli');
    expect(() => t.control.createWorkspace({ alias: '' }, 'cli')).toThrow();
    t.control.deleteWorkspace(workspaceId, 'cli');
    expect(t.events.map((e) => `${e.action}:${e.outcome}`)).toEqual([
      'workspace.create:success',
      'workspace.update:success',
      'token.create:success',
      'token.verify:failure',
      'token.revoke:success',
      'limits.set:success',
      'workspace.create:failure',
      'workspace.delete:success',
    ]);
    expect(t.events[0]).toMatchObject({ workspaceId, actor: 'cli', details: { tags: 1 } });
    expect(t.events[3]).toMatchObject({ actor: `token:${tokenId}`, workspaceId, details: { reason: 'unknown' } });
    expect(t.events[6]).toMatchObject({ details: { error: 'invalid', field: 'alias' } });
    const all = JSON.stringify(t.events);
    for (const s of ['Okapi', token.slice(`amp_${tokenId}_`.length)]) expect(all).not.toContain(s);
  });
});

describe('tokens', () => {
  let ws: string;
  beforeEach(() => {
    ws = t.control.createWorkspace({ alias: 'w' }).workspaceId;
  });

  it('creates amp_<id>_<secret>, returned once, stored only as SHA-256', () => {
    const created = t.control.createToken(ws, { scopes: ['query', 'remote_write'], name: 'prometheus' });
    expect(created.token).toMatch(/^amp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.token.startsWith(`amp_${created.tokenId}_`)).toBe(true);
    expect(Buffer.from(created.token.split('_').slice(2).join('_'), 'base64url')).toHaveLength(32);
    expect(created).toMatchObject({ workspaceId: ws, name: 'prometheus', scopes: ['remote_write', 'query'], expiresAt: null, lastUsedAt: null, revokedAt: null });
    const row = t.control.db.prepare('SELECT hash FROM tokens WHERE id = ?').get(created.tokenId) as { hash: Buffer };
    expect(row.hash.equals(createHash('sha256').update(created.token).digest())).toBe(true);
    const listed = t.control.listTokens(ws);
    expect(listed).toHaveLength(1);
    expect(listed[0]).not.toHaveProperty('token');
    const secret = created.token.slice(`amp_${created.tokenId}_`.length);
    expect(filesContaining(t.dir, secret)).toEqual([]);
    expect(filesContaining(t.dir, created.token)).toEqual([]);
    t.control.close();
    expect(filesContaining(t.dir, secret)).toEqual([]);
  });

  it('verifies scopes; refuses unknown, altered, malformed, revoked and expired tokens', () => {
    const a = t.control.createToken(ws, { scopes: ['remote_write'] });
    expect(t.control.verifyToken(a.token)).toEqual({ workspaceId: ws, tokenId: a.tokenId, scopes: ['remote_write'] });
    const flipped = a.token.slice(0, -2) + (a.token.endsWith('AA') ? 'BB' : 'AA');
    for (const bad of [flipped, 'amp_0000000000000000_' + 'A'.repeat(43), '', 'Bearer x', a.token + 'x', a.token.toUpperCase()]) {
      expect(t.control.verifyToken(bad)).toBeNull();
    }
    const exp = t.control.createToken(ws, { scopes: ['query'], expiresAt: new Date(t.clock + 1000) });
    expect(t.control.verifyToken(exp.token)).not.toBeNull();
    t.clock += 1000;
    expect(t.control.verifyToken(exp.token)).toBeNull();
    expect(t.events.at(-1)).toMatchObject({ action: 'token.verify', outcome: 'failure', details: { reason: 'expired' } });
    const revoked = t.control.revokeToken(a.tokenId);
    expect(revoked.revokedAt).toBe(new Date(t.clock).toISOString());
    expect(t.control.verifyToken(a.token)).toBeNull();
    expect(t.events.at(-1)).toMatchObject({ details: { reason: 'revoked' } });
    expect(() => t.control.revokeToken('0123456789abcdef')).toThrow(expect.objectContaining({ kind: 'not_found' }));
  });

  it('refuses a token it verified before as soon as another connection removed it, revoked it or ended its workspace', () => {
    const a = t.control.createToken(ws, { scopes: ['remote_write'] });
    const b = t.control.createToken(ws, { scopes: ['remote_write'] });
    for (let i = 0; i < 3; i++) expect(t.control.verifyToken(a.token)).toEqual({ workspaceId: ws, tokenId: a.tokenId, scopes: ['remote_write'] });
    // Another process's connection (it need not hold the master key to delete a row).
    const other = new Database(join(t.dir, 'control.db'));
    onTestFinished(() => void other.close());
    other.prepare('DELETE FROM tokens WHERE id = ?').run(a.tokenId);
    expect(t.control.verifyToken(a.token)).toBeNull();
    expect(t.events.at(-1)).toMatchObject({ details: { reason: 'unknown' } });
    // Changes through this connection: a revocation, then the workspace's deletion.
    expect(t.control.verifyToken(b.token)).not.toBeNull();
    t.control.revokeToken(b.tokenId);
    expect(t.control.verifyToken(b.token)).toBeNull();
    const c = t.control.createToken(ws, { scopes: ['query'] });
    expect(t.control.verifyToken(c.token)).not.toBeNull();
    t.clock += LAST_USED_RESOLUTION_MS - 1;
    expect(t.control.verifyToken(c.token)).not.toBeNull();
    t.control.deleteWorkspace(ws);
    expect(t.control.verifyToken(c.token)).toBeNull();
  });

  it('updates lastUsedAt at most once a minute', () => {
    const { token, tokenId } = t.control.createToken(ws, { scopes: ['query'] });
    const lastUsed = () => t.control.listTokens(ws).find((x) => x.tokenId === tokenId)!.lastUsedAt;
    const start = t.clock;
    t.control.verifyToken(token);
    expect(lastUsed()).toBe(new Date(start).toISOString());
    t.clock += LAST_USED_RESOLUTION_MS - 1;
    t.control.verifyToken(token);
    expect(lastUsed()).toBe(new Date(start).toISOString());
    t.clock += 1;
    t.control.verifyToken(token);
    expect(lastUsed()).toBe(new Date(t.clock).toISOString());
  });

  it('validates scopes, name and expiry', () => {
    expect(invalid(() => t.control.createToken(ws, { scopes: [] })).message).toBe('scopes: at least one of remote_write, query, admin is required');
    expect(invalid(() => t.control.createToken(ws, { scopes: ['write' as 'query'] })).message).toBe('scopes: "write" is not a scope; use remote_write, query, admin');
    expect(invalid(() => t.control.createToken(ws, { scopes: ['query'], name: 'n'.repeat(129) })).field).toBe('name');
    expect(invalid(() => t.control.createToken(ws, { scopes: ['query'], expiresAt: new Date(t.clock) })).message).toBe('expiresAt: must be in the future');
    expect(invalid(() => t.control.createToken(ws, { scopes: ['query'], expiresAt: 'tomorrow' })).message).toBe('expiresAt: must be an ISO 8601 date and time');
    expect(() => t.control.createToken('ws-00000000-0000-0000-0000-000000000000', { scopes: ['query'] })).toThrow(expect.objectContaining({ kind: 'not_found' }));
  });
});

describe('limit overrides', () => {
  it('starts empty and merges validated overrides', () => {
    const { workspaceId } = t.control.createWorkspace({ alias: 'w' });
    expect(t.control.getLimits(workspaceId)).toEqual({});
    expect(t.control.setLimits(workspaceId, { activeSeries: 1000, outOfOrderWindowMs: 0 })).toEqual({ activeSeries: 1000, outOfOrderWindowMs: 0 });
    expect(t.control.setLimits(workspaceId, { ingestionRate: 5000 })).toEqual({ activeSeries: 1000, outOfOrderWindowMs: 0, ingestionRate: 5000 });
    expect(t.control.getLimits(workspaceId)).toEqual({ activeSeries: 1000, outOfOrderWindowMs: 0, ingestionRate: 5000 });
  });

  it('refuses unknown limits and values that are not whole numbers in range', () => {
    const { workspaceId } = t.control.createWorkspace({ alias: 'w' });
    const e = invalid(() => t.control.setLimits(workspaceId, { bogus: 1 } as never));
    expect(e.field).toBe('bogus');
    expect(e.message).toMatch(/^bogus: is not a limit; known limits: activeSeries, /);
    expect(invalid(() => t.control.setLimits(workspaceId, { activeSeries: 0 })).message).toBe('activeSeries: must be a whole number of at least 1');
    expect(invalid(() => t.control.setLimits(workspaceId, { ingestionRate: 1.5 })).field).toBe('ingestionRate');
    expect(invalid(() => t.control.setLimits(workspaceId, { outOfOrderWindowMs: -1 })).field).toBe('outOfOrderWindowMs');
    expect(invalid(() => t.control.setLimits(workspaceId, { maxBodyBytes: '10' as unknown as number })).field).toBe('maxBodyBytes');
    expect(t.control.getLimits(workspaceId)).toEqual({});
  });
});
