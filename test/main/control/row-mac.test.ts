// control.db's access-deciding rows are authenticated: an altered column, a removed or added row,
// or a lost integrity key is an error naming control.db, the table and the row, never a silently
// different answer (a widened scope, an un-revoked token, a moved or re-activated workspace).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ControlDatabase } from '../../../main/control/control-plane';
import { WorkspaceSettings } from '../../../main/control/workspace-settings';
import { masterKey, newKey, type MasterKey } from '../../../main/crypto/master-key';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

let t: { dir: string; control: ControlDatabase; clock: number };
let key: MasterKey;
let ws: string;
let other: string;
let token: string;
let tokenId: string;

beforeEach(() => {
  key = masterKey(newKey());
  t = { dir: mkdtempSync(join(tmpdir(), 'ampule-rowmac-')), control: undefined as unknown as ControlDatabase, clock: Date.parse('2026-01-01T00:00:00Z') };
  t.control = reopen();
  ws = t.control.createWorkspace({ alias: 'a' }).workspaceId;
  other = t.control.createWorkspace({ alias: 'b' }).workspaceId;
  ({ token, tokenId } = t.control.createToken(ws, { scopes: ['remote_write'] }));
  t.control.setLimits(ws, { activeSeries: 10 });
});
afterEach(() => {
  try {
    t.control.close();
  } catch {
    /* already closed */
  }
  rmSync(t.dir, { recursive: true, force: true });
});

function reopen(k: MasterKey = key): ControlDatabase {
  const c = ControlDatabase.open(join(t.dir, 'control.db'), { now: () => t.clock });
  try {
    if (c.keys.keyCheck() === null) c.keys.setKeyCheck(k.check);
    c.keys.useMasterKey(k);
    return c;
  } catch (e) {
    c.close();
    throw e;
  }
}

const sql = (q: string, ...args: unknown[]) => t.control.db.prepare(q).run(...args);

describe('control.db row MACs', () => {
  it('a reopened database checks out and answers as before', () => {
    const before = { ws: t.control.listWorkspaces(), tokens: t.control.listTokens(ws), limits: t.control.getLimits(ws) };
    t.control.close();
    t.control = reopen();
    expect({ ws: t.control.listWorkspaces(), tokens: t.control.listTokens(ws), limits: t.control.getLimits(ws) }).toEqual(before);
    expect(t.control.verifyToken(token)).toMatchObject({ workspaceId: ws, scopes: ['remote_write'] });
  });

  it.each([
    ['a widened scope', `UPDATE tokens SET scopes = 'remote_write,query'`, (c: ControlDatabase) => c.verifyToken(token), /tokens row [0-9a-f]{16}: altered/],
    ['a token moved to another workspace', `UPDATE tokens SET workspace_id = '${'OTHER'}'`, (c: ControlDatabase) => c.verifyToken(token), /tokens row [0-9a-f]{16}: altered/],
    ['an expiry pushed out', `UPDATE tokens SET expires_at = '2999-01-01T00:00:00.000Z'`, (c: ControlDatabase) => c.listTokens(ws), /tokens row [0-9a-f]{16}: altered/],
    ['a workspace status changed', `UPDATE workspaces SET status = 'SUSPENDED' WHERE rowid = 1`, (c: ControlDatabase) => c.listWorkspaces(), /workspaces row ws-\S+: altered/],
    ['a raised limit', `UPDATE limits SET overrides = '{"activeSeries":10000000}'`, (c: ControlDatabase) => c.getLimits(ws), /limits row ws-\S+: altered/],
  ])('%s is named on read and on reopen', (_what, update, read, named) => {
    sql(update.replace("'OTHER'", `'${other}'`));
    expect(() => read(t.control)).toThrow(named);
    expect(() => read(t.control)).toThrow(/^control\.db is damaged: /);
    t.control.close();
    expect(() => reopen()).toThrow(named);
  });

  it('a shortened retention is named, and a removed one too (it would silently fall back to the default)', () => {
    const settings = new WorkspaceSettings(t.control.db);
    settings.setRetentionDays(ws, 400);
    expect(settings.retentionDays(ws)).toBe(400);
    sql(`UPDATE workspace_retention SET days = 1`);
    expect(() => settings.retentionDays(ws)).toThrow(`control.db is damaged: workspace_retention row ${ws}: altered`);
    settings.setRetentionDays(ws, 400);
    sql(`DELETE FROM workspace_retention`);
    t.control.close();
    expect(() => reopen()).toThrow(/workspace_retention: a row was removed or added/);
  });

  it('an un-revoked token is an error, not a working token', () => {
    t.control.revokeToken(tokenId);
    expect(t.control.verifyToken(token)).toBeNull();
    sql(`UPDATE tokens SET revoked_at = NULL WHERE id = ?`, tokenId);
    expect(() => t.control.verifyToken(token)).toThrow(`control.db is damaged: tokens row ${tokenId}: altered`);
  });

  it('a removed row (a revoked token, a limits row) or an added one is named by the table digest', () => {
    t.control.revokeToken(tokenId);
    sql(`DELETE FROM tokens WHERE id = ?`, tokenId);
    expect(() => t.control.listTokens(ws)).toThrow(/control\.db is damaged: tokens: a row was removed or added/);
    t.control.close();
    expect(() => reopen()).toThrow(/tokens: a row was removed or added/);
    t.control = ControlDatabase.open(join(t.dir, 'control.db'));
    sql(`DELETE FROM limits`);
    t.control.close();
    expect(() => reopen()).toThrow(/limits: a row was removed or added|tokens: a row was removed/);
  });

  it('a lost integrity key is named, not silently replaced', () => {
    t.control.close();
    t.control = ControlDatabase.open(join(t.dir, 'control.db'));
    sql(`DELETE FROM control_integrity_key`);
    t.control.close();
    expect(() => reopen()).toThrow('control.db is damaged: its row-integrity key is missing');
  });

  it('rows written before the MACs existed (schema 5) are MACd on the first unlock', () => {
    t.control.close();
    t.control = ControlDatabase.open(join(t.dir, 'control.db'));
    // What migration 6 leaves over an older database: no key, no MACs, no digests.
    sql(`DROP TABLE control_integrity_key`);
    for (const table of ['workspaces', 'tokens', 'limits']) sql(`UPDATE ${table} SET mac = NULL`);
    sql(`DELETE FROM meta WHERE key LIKE 'row_digest:%'`);
    t.control.close();
    t.control = reopen();
    expect(t.control.listWorkspaces().map((w) => w.alias)).toEqual(['a', 'b']);
    expect(t.control.verifyToken(token)).toMatchObject({ workspaceId: ws });
    sql(`UPDATE tokens SET scopes = 'query'`);
    expect(() => t.control.listTokens(ws)).toThrow(/tokens row [0-9a-f]{16}: altered/);
  });

  it('survives a master-key rotation: the integrity key is re-wrapped with the data keys', () => {
    const next = masterKey(newKey());
    t.control.keys.rewrapAll((wrapped, owner, gen) => next.wrapDataKey(key.unwrapDataKey(wrapped, owner, gen), owner, gen), next.check);
    t.control.keys.useMasterKey(next);
    t.control.close();
    t.control = reopen(next);
    expect(t.control.listTokens(ws)).toHaveLength(1);
    expect(t.control.verifyToken(token)).toMatchObject({ workspaceId: ws });
  });
});
