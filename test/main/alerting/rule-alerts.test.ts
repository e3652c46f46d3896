// When a real GroupEvaluator's alerts are sent, as Prometheus's rules/alerting.go decides: pending
// never; firing at once and again only after the resend delay; endsAt = ts + 4 × max(resend delay,
// interval); a resolved alert at once with endsAt = its resolved time, then each resend delay
// while the evaluator keeps it; a re-fired alert (a new alert) at once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { GroupEvaluator } from '../../../main/rules/evaluator';
import { parseRuleFile } from '../../../main/rules/rule-file';
import { RuleAlertSender, evaluatorAlerts, generatorURL } from '../../../main/alerting/rule-alerts';
import type { NotifierAlert } from '../../../main/alerting/webhook';

let dir: string;
let db: Tsdb;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-rule-alerts-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 's.db'), workspaceId: 'w', keys: { current: 1, get: () => cipher }, outOfOrderWindowMs: Number.MAX_SAFE_INTEGER });
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const M = 60_000;

it('follows Prometheus sendAlerts: pending, resend delay, endsAt, resolved, re-fired', () => {
  const storage = { querier: () => db.querier(), appender: () => db.appender() };
  const ev = new GroupEvaluator(parseRuleFile('groups:\n  - name: g\n    interval: 2m\n    rules:\n      - alert: A\n        expr: x > 0\n        for: 2m\n').groups[0]!);
  const got: NotifierAlert[][] = [];
  const sender = new RuleAlertSender({ send: (a) => got.push([...a]) }, { resendDelayMs: M, externalURL: 'https://h/' });
  const source = evaluatorAlerts(ev, M);
  const step = (t: number, v: number | null) => {
    if (v !== null) {
      const app = db.appender();
      app.append(0, labelsFromRecord({ __name__: 'x' }), t, v);
      app.commit();
    }
    ev.eval(storage, t);
    return sender.sendAlerts(source, t).map((a) => [a.startsAt, a.endsAt]);
  };
  expect(source.intervalMs).toBe(2 * M);
  expect(step(0, 1)).toEqual([]); // pending
  expect(step(2 * M, 1)).toEqual([[2 * M, 2 * M + 4 * 2 * M]]); // firing: 4 × max(1m, 2m)
  expect(step(2 * M + 30_000, 1)).toEqual([]); // within the resend delay
  expect(step(3 * M, 1)).toEqual([]); // exactly the delay: Prometheus resends only after it
  expect(step(3 * M + 1, 1)).toEqual([[2 * M, 3 * M + 1 + 8 * M]]);
  expect(step(4 * M, 0)).toEqual([[2 * M, 4 * M]]); // resolved: endsAt = resolved time
  expect(step(4 * M + 30_000, null)).toEqual([]);
  expect(step(5 * M + 1, null)).toEqual([[2 * M, 4 * M]]); // resent while kept
  expect(step(6 * M, 1)).toEqual([]); // a new alert, pending again
  expect(step(8 * M, 1)).toEqual([[8 * M, 8 * M + 8 * M]]); // fires as a new alert: sent at once
  expect(got.flat()[0]!.generatorURL).toBe(generatorURL('https://h/', 'x > 0'));
  expect(got.flat()[0]!.generatorURL).toBe('https://h/graph?g0.expr=x+%3E+0&g0.tab=1');
});
