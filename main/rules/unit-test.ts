// Rule unit tests in `promtool test rules` format: input series in the expanding notation are
// loaded into a temp encrypted store, every group is evaluated from 0 to the largest eval_time at
// evaluation_interval, firing alerts are compared at each alert_rule_test's eval_time, and
// promql_expr_test queries run against the store afterwards (rule outputs included).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import type { Labels } from '../../shared/labels';
import { compareLabels, formatLabels, labelsFromRecord, labelsKey } from '../../shared/labels';
import { createCipher } from '../crypto/cipher';
import { instantQuery } from '../query/engine';
import { formatDuration, parseDuration } from '../query/durations';
import { parseSeriesLine } from '../query/promqltest/script';
import { openTsdb, type Tsdb } from '../tsdb';
import { GroupEvaluator, STALE_NAN } from './evaluator';
import { parseRuleFile, RuleFileError, type RuleGroupDef } from './rule-file';

export interface UnitTestFileResult {
  readonly file: string;
  readonly passed: boolean;
  /** Each failure, in promtool's words where it has them. */
  readonly errors: string[];
  readonly groups: number;
}

class TestFileError extends Error {}

type Obj = Map<string, YamlNode | null>;

function asMap(n: YamlNode | null | undefined, known: string[], what: string): Obj {
  const out: Obj = new Map();
  if (!n || (isScalar(n) && n.value === null)) return out;
  if (!isMap(n)) throw new TestFileError(`${what}: expected a mapping`);
  for (const p of n.items as Pair<YamlNode, YamlNode | null>[]) {
    const k = isScalar(p.key) ? String(p.key.value) : '?';
    if (!known.includes(k)) throw new TestFileError(`${what}: field ${k} not found`);
    out.set(k, p.value ?? null);
  }
  return out;
}

function asList(n: YamlNode | null | undefined, what: string): YamlNode[] {
  if (!n || (isScalar(n) && n.value === null)) return [];
  if (!isSeq(n)) throw new TestFileError(`${what}: expected a list`);
  return n.items as YamlNode[];
}

function asString(n: YamlNode | null | undefined, what: string): string {
  if (!n || (isScalar(n) && n.value === null)) return '';
  if (!isScalar(n)) throw new TestFileError(`${what}: expected a string`);
  const s = n as YamlNode & { source?: string; value: unknown };
  return typeof s.value === 'string' ? s.value : typeof s.source === 'string' ? s.source : String(s.value);
}

function asDuration(n: YamlNode | null | undefined, what: string): number {
  const s = asString(n, what);
  if (s === '') return 0;
  const ms = parseDuration(s);
  if (ms === null) throw new TestFileError(`${what}: not a valid duration string: ${JSON.stringify(s)}`);
  return ms;
}

/** A YAML float (`.nan`, `.inf` included); a string such as "NaN" is refused, as Go's yaml does. */
function asNumber(n: YamlNode | null | undefined, what: string): number {
  if (!n || (isScalar(n) && n.value === null)) return 0;
  if (isScalar(n) && typeof n.value === 'number') return n.value;
  throw new TestFileError(`${what}: cannot unmarshal ${JSON.stringify(asString(n, what))} into float64`);
}

function asStringMap(n: YamlNode | null | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!n || (isScalar(n) && n.value === null)) return out;
  if (!isMap(n)) throw new TestFileError(`${what}: expected a mapping`);
  for (const p of n.items as Pair<YamlNode, YamlNode | null>[]) out[asString(p.key, what)] = asString(p.value, what);
  return out;
}

interface AlertTest {
  evalTime: number;
  alertname: string;
  exp: { labels: Record<string, string>; annotations: Record<string, string> }[];
}

interface ExprTest {
  expr: string;
  evalTime: number;
  exp: { labels: string; value: number }[];
}

interface TestGroup {
  name: string;
  intervalMs: number;
  inputSeries: { series: string; values: string }[];
  alerts: AlertTest[];
  exprs: ExprTest[];
  externalLabels: Record<string, string>;
  externalURL: string;
}

function parseTestFile(text: string): { ruleFiles: string[]; evalIntervalMs: number; order: string[]; tests: TestGroup[] } {
  const doc = parseDocument(text, { uniqueKeys: true, merge: true, prettyErrors: false });
  if (doc.errors.length) throw new TestFileError(`invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const top = asMap(doc.contents as YamlNode | null, ['rule_files', 'evaluation_interval', 'group_eval_order', 'tests'], 'test file');
  const evalIntervalMs = asDuration(top.get('evaluation_interval'), 'evaluation_interval') || 60_000;
  const tests = asList(top.get('tests'), 'tests').map((tn, i): TestGroup => {
    const w = `tests[${i}]`;
    const t = asMap(tn, ['interval', 'input_series', 'alert_rule_test', 'promql_expr_test', 'external_labels', 'external_url', 'name'], w);
    return {
      name: asString(t.get('name'), `${w}.name`),
      intervalMs: asDuration(t.get('interval'), `${w}.interval`) || evalIntervalMs,
      inputSeries: asList(t.get('input_series'), `${w}.input_series`).map((s, j) => {
        const m = asMap(s, ['series', 'values'], `${w}.input_series[${j}]`);
        return { series: asString(m.get('series'), 'series'), values: asString(m.get('values'), 'values') };
      }),
      alerts: asList(t.get('alert_rule_test'), `${w}.alert_rule_test`).map((a, j) => {
        const aw = `${w}.alert_rule_test[${j}]`;
        const m = asMap(a, ['eval_time', 'alertname', 'exp_alerts'], aw);
        return {
          evalTime: asDuration(m.get('eval_time'), `${aw}.eval_time`),
          alertname: asString(m.get('alertname'), `${aw}.alertname`),
          exp: asList(m.get('exp_alerts'), `${aw}.exp_alerts`).map((e) => {
            const em = asMap(e, ['exp_labels', 'exp_annotations'], `${aw}.exp_alerts`);
            return { labels: asStringMap(em.get('exp_labels'), 'exp_labels'), annotations: asStringMap(em.get('exp_annotations'), 'exp_annotations') };
          }),
        };
      }),
      exprs: asList(t.get('promql_expr_test'), `${w}.promql_expr_test`).map((p, j) => {
        const pw = `${w}.promql_expr_test[${j}]`;
        const m = asMap(p, ['expr', 'eval_time', 'exp_samples'], pw);
        return {
          expr: asString(m.get('expr'), `${pw}.expr`),
          evalTime: asDuration(m.get('eval_time'), `${pw}.eval_time`),
          exp: asList(m.get('exp_samples'), `${pw}.exp_samples`).map((e) => {
            const em = asMap(e, ['labels', 'value'], `${pw}.exp_samples`);
            return { labels: asString(em.get('labels'), 'labels'), value: asNumber(em.get('value'), 'value') };
          }),
        };
      }),
      externalLabels: asStringMap(t.get('external_labels'), `${w}.external_labels`),
      externalURL: asString(t.get('external_url'), `${w}.external_url`),
    };
  });
  return {
    ruleFiles: asList(top.get('rule_files'), 'rule_files').map((r) => asString(r, 'rule_files')),
    evalIntervalMs,
    order: asList(top.get('group_eval_order'), 'group_eval_order').map((r) => asString(r, 'group_eval_order')),
    tests,
  };
}

/** Rule file paths relative to the test file; `*`, `?` globs in the file-name part. */
function resolveRuleFiles(testFile: string, patterns: string[]): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    const full = isAbsolute(p) ? p : join(dirname(testFile), p);
    if (!/[*?[]/.test(basename(full))) {
      out.push(full);
      continue;
    }
    const re = new RegExp(`^${basename(full).replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    const dir = dirname(full);
    if (existsSync(dir)) for (const f of readdirSync(dir).sort()) if (re.test(f)) out.push(join(dir, f));
  }
  return out;
}

/** A temp encrypted store (RAM-backed when /dev/shm exists) for one test group. */
function tempStore(): { db: Tsdb; close(): void } {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ampule-ruletest-'));
  const cipher = createCipher(randomBytes(32));
  const db = openTsdb({ path: join(dir, 'store.db'), workspaceId: 'ruletest', keys: { current: 1, get: () => cipher }, outOfOrderWindowMs: Number.MAX_SAFE_INTEGER });
  return { db, close: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

interface LabelsAndAnnotations {
  labels: Labels;
  annotations: Labels;
}

function sortLA(x: LabelsAndAnnotations[]): LabelsAndAnnotations[] {
  return [...x].sort((a, b) => compareLabels(a.labels, b.labels) || compareLabels(a.annotations, b.annotations));
}

function formatLA(x: LabelsAndAnnotations[]): string {
  return `[${x.map((a, i) => `\n    ${i}:\n      Labels:${formatLabels(a.labels)}\n      Annotations:${formatLabels(a.annotations)}`).join('')}\n  ]`;
}

function sameLA(a: LabelsAndAnnotations[], b: LabelsAndAnnotations[]): boolean {
  return a.length === b.length && a.every((x, i) => labelsKey(x.labels) === labelsKey(b[i]!.labels) && labelsKey(x.annotations) === labelsKey(b[i]!.annotations));
}

function runGroup(tg: TestGroup, groups: RuleGroupDef[], evalIntervalMs: number): string[] {
  const store = tempStore();
  const errs: string[] = [];
  const testName = tg.name ? `    name: ${tg.name},\n` : '';
  try {
    // Input series, as promtool's `load <interval>` block.
    const app = store.db.appender();
    for (const s of tg.inputSeries) {
      let line;
      try {
        line = parseSeriesLine(`${s.series} ${s.values}`);
      } catch (e) {
        return [`${testName}    error loading series ${JSON.stringify(s.series)}: ${(e as Error).message}`];
      }
      let ref = 0;
      line.values.forEach((v, i) => {
        if (v.kind === 'gap' || v.kind === 'histogram') return;
        ref = app.append(ref, line.labels, i * tg.intervalMs, v.kind === 'stale' ? STALE_NAN : v.v);
      });
    }
    app.commit();

    const evaluators = groups.map((g) => new GroupEvaluator(g, { externalLabels: tg.externalLabels, externalURL: tg.externalURL }));
    for (const a of tg.alerts) {
      if (a.alertname === '') return [`an item under alert_rule_test misses required attribute alertname at eval_time ${formatDuration(a.evalTime)}${tg.name ? ` (in TestGroup ${tg.name})` : ''}`];
    }
    const maxt = Math.max(0, ...tg.alerts.map((a) => a.evalTime), ...tg.exprs.map((e) => e.evalTime));
    const alertTimes = [...new Set(tg.alerts.map((a) => a.evalTime))].sort((a, b) => a - b);
    let curr = 0;
    const storage = { querier: () => store.db.querier(), appender: () => store.db.appender() };
    for (let ts = 0; ts <= maxt; ts += evalIntervalMs) {
      const evalErrs: string[] = [];
      for (const ev of evaluators) {
        ev.eval(storage, ts);
        for (const r of ev.rules) if (r.health.lastError !== null) evalErrs.push(`    rule: ${r.def.name}, time: ${formatDuration(ts)}, err: ${r.health.lastError}`);
      }
      errs.push(...evalErrs);
      if (evalErrs.length) return errs;
      while (curr < alertTimes.length && ts <= alertTimes[curr]! && alertTimes[curr]! < ts + evalIntervalMs) {
        const t = alertTimes[curr]!;
        for (const tc of tg.alerts.filter((a) => a.evalTime === t)) {
          const got: LabelsAndAnnotations[] = [];
          for (const ev of evaluators) {
            for (const r of ev.rules) {
              if (r.def.kind !== 'alerting' || r.def.name !== tc.alertname) continue;
              for (const a of r.alerts()) if (a.state === 'firing') got.push({ labels: a.labels, annotations: labelsFromRecord(a.annotations) });
            }
          }
          const exp = tc.exp.map((e) => ({ labels: labelsFromRecord({ ...e.labels, alertname: tc.alertname }), annotations: labelsFromRecord(e.annotations) }));
          const g = sortLA(got), x = sortLA(exp);
          if (!sameLA(g, x)) {
            errs.push(`${testName}    alertname: ${tc.alertname}, time: ${formatDuration(t)}, \n        exp:${formatLA(x)}, \n        got:${formatLA(g)}`);
          }
        }
        curr++;
      }
    }

    for (const tc of tg.exprs) {
      let got: { labels: Labels; value: number }[];
      try {
        const r = instantQuery(store.db.querier(), tc.expr, tc.evalTime);
        if (r.value.type === 'vector') got = r.value.samples.map((s) => ({ labels: s.metric, value: s.f }));
        else if (r.value.type === 'scalar') got = [{ labels: [], value: r.value.v }];
        else throw new Error('rule result is not a vector or scalar');
      } catch (e) {
        errs.push(`    expr: ${JSON.stringify(tc.expr)}, time: ${formatDuration(tc.evalTime)}, err: ${(e as Error).message}`);
        continue;
      }
      let exp: { labels: Labels; value: number }[];
      try {
        exp = tc.exp.map((e) => ({ labels: e.labels.trim() === '' ? [] : parseSeriesLine(e.labels).labels, value: e.value }));
      } catch (e) {
        errs.push(`    expr: ${JSON.stringify(tc.expr)}, time: ${formatDuration(tc.evalTime)}, err: labels: ${(e as Error).message}`);
        continue;
      }
      const sort = (x: { labels: Labels; value: number }[]) => [...x].sort((a, b) => compareLabels(a.labels, b.labels));
      const g = sort(got), x = sort(exp);
      // Exact float comparison, as promtool's reflect.DeepEqual (NaN never equals).
      const same = g.length === x.length && g.every((s, i) => labelsKey(s.labels) === labelsKey(x[i]!.labels) && s.value === x[i]!.value);
      if (!same) {
        const fmt = (v: { labels: Labels; value: number }[]) => `[${v.map((s) => `${formatLabels(s.labels)} ${s.value}`).join(', ')}]`;
        errs.push(`    expr: ${JSON.stringify(tc.expr)}, time: ${formatDuration(tc.evalTime)},\n        exp: ${fmt(x)}\n        got: ${fmt(g)}`);
      }
    }
    return errs;
  } finally {
    store.close();
  }
}

/** Runs one test file; never throws for bad input (it is a failed result). */
export function runRuleTestFile(file: string): UnitTestFileResult {
  let spec: ReturnType<typeof parseTestFile>;
  try {
    spec = parseTestFile(readFileSync(file, 'utf8'));
  } catch (e) {
    return { file, passed: false, errors: [(e as Error).message], groups: 0 };
  }
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const n of spec.order) {
    if (seen.has(n)) return { file, passed: false, errors: [`group name repeated in evaluation order: ${n}`], groups: 0 };
    seen.add(n);
  }
  for (const tg of spec.tests) {
    try {
      // Like promtool, the rule files are loaded for each test group (so a file with no tests never reads them).
      const loaded = loadRuleGroups(file, spec.ruleFiles, spec.order);
      if ('errors' in loaded) {
        errors.push(...loaded.errors);
        continue;
      }
      errors.push(...runGroup(tg, loaded.groups, spec.evalIntervalMs));
    } catch (e) {
      errors.push(`    ${(e as Error).message}`);
    }
  }
  return { file, passed: errors.length === 0, errors, groups: spec.tests.length };
}

function loadRuleGroups(testFile: string, patterns: string[], order: string[]): { groups: RuleGroupDef[] } | { errors: string[] } {
  const groups: RuleGroupDef[] = [];
  const errors: string[] = [];
  for (const rf of resolveRuleFiles(testFile, patterns)) {
    try {
      groups.push(...parseRuleFile(readFileSync(rf, 'utf8')).groups);
    } catch (e) {
      if (e instanceof RuleFileError) errors.push(...e.message.split('\n').map((m) => `${rf}: ${m}`));
      else errors.push(`${rf}: ${(e as Error).message}`);
    }
  }
  if (errors.length) return { errors };
  // promtool 2.42 ignores names in group_eval_order that no rule file defines; so do we.
  const rank = (g: RuleGroupDef) => (order.includes(g.name) ? order.indexOf(g.name) : 0);
  return { groups: [...groups].sort((a, b) => rank(a) - rank(b)) };
}
