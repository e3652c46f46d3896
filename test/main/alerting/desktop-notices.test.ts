// Which alerts the desktop announces, over a real GroupEvaluator and encrypted store: pending never;
// once when an alert turns firing (not while it stays firing); again only when it fires anew after
// resolving; one notice per rule however many of its alerts fired; and no text the sensitive-data
// detector flags (alert name, severity, summary, workspace alias), nor other label values.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { GroupEvaluator } from '../../../main/rules/evaluator';
import { parseRuleFile } from '../../../main/rules/rule-file';
import { FiringNotices, safeText } from '../../../main/alerting/desktop-notices';
import { isCoreEvent } from '../../../main/worker/protocol';

let dir: string;
let db: Tsdb;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-desktop-notices-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 's.db'), workspaceId: 'w', keys: { current: 1, get: () => cipher }, outOfOrderWindowMs: Number.MAX_SAFE_INTEGER });
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const M = 60_000;

function group(rules: string): GroupEvaluator {
  return new GroupEvaluator(parseRuleFile(`groups:\n  - name: g\n    interval: 1m\n    rules:\n${rules}`).groups[0]!);
}

function write(t: number, series: Record<string, number>): void {
  const app = db.appender();
  for (const [instance, v] of Object.entries(series)) app.append(0, labelsFromRecord({ __name__: 'x', instance }), t, v);
  app.commit();
}

describe('desktop notices', () => {
  it('announce an alert once when it turns firing, and again only when it fires anew', () => {
    const storage = { querier: () => db.querier(), appender: () => db.appender() };
    const ev = group(`      - alert: DiskFull\n        expr: x > 0\n        for: 2m\n        labels:\n          severity: critical\n        annotations:\n          summary: 'disk on {{ $labels.instance }} is full'\n`);
    const notices = new FiringNotices('ws-1', () => 'payments');
    const step = (t: number, series: Record<string, number>) => {
      write(t, series);
      ev.eval(storage, t);
      return notices.collect(ev);
    };
    expect(step(0, { a: 1 })).toEqual([]); // pending
    expect(step(M, { a: 1 })).toEqual([]); // still pending
    expect(step(2 * M, { a: 1 })).toEqual([{ workspaceId: 'ws-1', title: 'Alert firing: DiskFull (critical)', body: 'disk on a is full — workspace payments' }]);
    expect(step(3 * M, { a: 1 })).toEqual([]); // still firing: nothing new
    expect(step(4 * M, { a: 0 })).toEqual([]); // resolved
    expect(step(5 * M, { a: 1 })).toEqual([]); // pending anew
    expect(step(7 * M, { a: 1 })).toHaveLength(1); // fires anew: announced again
  });

  it('make one notice per rule when many of its alerts fire at once', () => {
    const storage = { querier: () => db.querier(), appender: () => db.appender() };
    const ev = group(`      - alert: Up\n        expr: x > 0\n      - alert: Other\n        expr: x > 100\n`);
    const notices = new FiringNotices('ws-1', () => 'payments');
    write(0, Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`i${i}`, 1])));
    ev.eval(storage, 0);
    expect(notices.collect(ev)).toEqual([{ workspaceId: 'ws-1', title: 'Alert firing: Up', body: '50 alerts firing in workspace payments' }]);
    expect(notices.collect(ev)).toEqual([]);
  });

  it('never carry text the sensitive-data detector flags, nor other label values', () => {
    const storage = { querier: () => db.querier(), appender: () => db.appender() };
    const ev = group(
      `      - alert: LeakyAlert\n        expr: x > 0\n        labels:\n          severity: 'jane.doe@example.com'\n        annotations:\n          summary: 'card {{ $labels.instance }} declined'\n`,
    );
    // The alias looks like an e-mail address; the summary carries a Luhn-valid card number from a label.
    const notices = new FiringNotices('ws-1', () => 'ops@example.com');
    write(0, { '4111111111111111': 1 });
    ev.eval(storage, 0);
    const [n] = notices.collect(ev);
    const text = `${n!.title} ${n!.body}`;
    expect(text).not.toContain('4111');
    expect(text).not.toContain('example.com');
    expect(n).toEqual({ workspaceId: 'ws-1', title: 'Alert firing: LeakyAlert', body: 'hidden: looks like payment card number — workspace ws-1' });
  });

  it('shorten long text and drop empty text', () => {
    expect(safeText('  ')).toBeNull();
    expect(safeText('a\n  b')).toEqual({ text: 'a b', withheld: false });
    const long = safeText('x'.repeat(500))!;
    expect(long.text.length).toBe(160);
    expect(long.text.endsWith('…')).toBe(true);
    expect(safeText('token=ghp_abcdefghijklmnopqrstuvwxyz0123456789')?.withheld).toBe(true);
  });

  it('cross the process hop only as short strings', () => {
    expect(isCoreEvent({ event: 'alerts-firing', notices: [{ workspaceId: 'ws-1', title: 't', body: 'b' }] })).toBe(true);
    expect(isCoreEvent({ event: 'alerts-firing', notices: [{ workspaceId: 'ws-1', title: 't'.repeat(401), body: 'b' }] })).toBe(false);
    expect(isCoreEvent({ event: 'alerts-firing', notices: [{ workspaceId: 'ws-1', title: 1, body: 'b' }] })).toBe(false);
    expect(isCoreEvent({ event: 'other', notices: [] })).toBe(false);
    expect(isCoreEvent({ id: 1, result: { ok: true, value: null } })).toBe(false);
  });
});
