// `ampule rule-groups …` through main(argv, io) against a real data directory (a key file stands
// in for the keychain): put/list/describe/delete with the activity log, a refused rule file that
// names the place and stores nothing, and the offline `check` and `test` commands' exit codes.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../../main/cli/index';

const dir = mkdtempSync(join(tmpdir(), 'ampule-rulegroups-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, 'master.key');
writeFileSync(keyFile, randomBytes(32));
chmodSync(keyFile, 0o600);
const base = ['--data-dir', join(dir, 'data'), '--master-key-file', keyFile];
const fixtures = resolve(import.meta.dirname, '../../rules/fixtures');

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main([...argv, ...base], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

describe('rule-groups commands', () => {
  it('put, list, describe, delete; the activity log records put and delete', async () => {
    const ws = (JSON.parse((await run('workspace', 'create', '--alias', 'r', '--json')).out) as { workspaceId: string }).workspaceId;
    const file = join(dir, 'rules.yml');
    writeFileSync(file, 'groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: sum(up)\n');
    const put = await run('rule-groups', 'put', '--workspace', ws, '--namespace', 'ns1', '--file', file);
    expect(put.status, put.err).toBe(0);
    expect(put.out).toContain('1 group(s), 1 rule(s)');
    const list = await run('rule-groups', 'list', '--workspace', ws, '--json');
    expect(JSON.parse(list.out)).toMatchObject([{ name: 'ns1', groups: 1, rules: 1 }]);
    const desc = await run('rule-groups', 'describe', '--workspace', ws, '--namespace', 'ns1');
    expect(desc.out).toContain('record: a:b');

    writeFileSync(file, 'groups:\n  - name: g\n    rules:\n      - record: a-b\n        expr: sum(up)\n');
    const bad = await run('rule-groups', 'put', '--workspace', ws, '--namespace', 'ns2', '--file', file);
    expect(bad.status).toBe(1);
    expect(bad.err).toContain('4:17, group "g", rule 1 ("a-b"), field record: invalid recording rule name: a-b');
    expect(JSON.parse((await run('rule-groups', 'list', '--workspace', ws, '--json')).out)).toHaveLength(1);

    expect((await run('rule-groups', 'delete', '--workspace', ws, '--namespace', 'ns1')).status).toBe(0);
    expect(JSON.parse((await run('rule-groups', 'list', '--workspace', ws, '--json')).out)).toEqual([]);
    const missing = await run('rule-groups', 'delete', '--workspace', ws, '--namespace', 'ns1');
    expect(missing.status).not.toBe(0);

    const log = (await run('audit', 'export')).out.split('\n').filter((l) => l.includes('rule_groups.'));
    expect(log.map((l) => l.split('\t').slice(2, 4).join(' '))).toEqual(['rule_groups.put ok', 'rule_groups.put error', 'rule_groups.delete ok', 'rule_groups.delete error']);
  });

  it('help keeps rule-groups and the ingest rules apart', async () => {
    const out: string[] = [];
    await main(['help'], { out: (l) => out.push(l), err: () => {}, env: {} });
    const text = out.join('\n');
    expect(text).toContain('rule-groups put');
    expect(text).toMatch(/rule-groups put[^\n]*\n[^\n]*`ampule rules` is the unrelated ingest label rules/);
  });

  it('check and test: exit 0 on good files, 1 on bad ones', async () => {
    expect((await run('rule-groups', 'check', join(fixtures, 'check/good-basic.yml'))).status).toBe(0);
    expect((await run('rule-groups', 'check', join(fixtures, 'check/bad-promql.yml'))).status).toBe(1);
    const pass = await run('rule-groups', 'test', join(fixtures, 'unit/pass-alerts.test.yml'));
    expect(pass.out).toContain('SUCCESS');
    expect(pass.status).toBe(0);
    const fail = await run('rule-groups', 'test', join(fixtures, 'unit/fail-wrong-value.test.yml'));
    expect(fail.status).toBe(1);
    expect(fail.out).toContain('FAILED');
  });
});
