// Prometheus rule files: YAML → rule groups, validated as strictly as `promtool check rules`
// (Prometheus's rulefmt: unknown fields and duplicate keys refused, typed fields, duplicate group
// names, record names, label names, `for`/`keep_firing_for`/annotations only on alerts, PromQL
// that parses, templates that parse). Every problem names its group, rule (1-based index and
// name), field and YAML line, and all problems of a file are reported at once.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { parseDuration } from '../query/durations';
import { parseExpr } from '../query/parser';
import { checkAlertTemplate, TemplateParseError } from './template';

export interface RuleDef {
  readonly kind: 'recording' | 'alerting';
  /** The record (metric) name or the alert name. */
  readonly name: string;
  readonly expr: string;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RuleGroupDef {
  readonly name: string;
  /** 0: the evaluator's default interval. */
  readonly intervalMs: number;
  /** 0: no limit on series (recording) or alerts (alerting) per rule. */
  readonly limit: number;
  /** null: the evaluator's default query offset. */
  readonly queryOffsetMs: number | null;
  readonly rules: readonly RuleDef[];
}

export interface RuleFile {
  readonly groups: readonly RuleGroupDef[];
}

export interface RuleProblem {
  readonly message: string;
  readonly group?: string;
  /** 1-based index of the rule in its group. */
  readonly rule?: number;
  readonly ruleName?: string;
  readonly field?: string;
  readonly line?: number;
  readonly column?: number;
}

export class RuleFileError extends Error {
  constructor(readonly problems: readonly RuleProblem[]) {
    super(problems.map(describeProblem).join('\n'));
    this.name = 'RuleFileError';
  }
}

export function describeProblem(p: RuleProblem): string {
  const where: string[] = [];
  if (p.line !== undefined) where.push(`${p.line}:${p.column ?? 1}`);
  if (p.group !== undefined) where.push(`group ${JSON.stringify(p.group)}`);
  if (p.rule !== undefined) where.push(`rule ${p.rule}${p.ruleName ? ` (${JSON.stringify(p.ruleName)})` : ''}`);
  if (p.field !== undefined) where.push(`field ${p.field}`);
  return where.length ? `${where.join(', ')}: ${p.message}` : p.message;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const GROUP_FIELDS = ['name', 'interval', 'limit', 'query_offset', 'rules'];
const RULE_FIELDS = ['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'];
/** A rule file larger than this is refused before parsing (AMP's limit on a namespace's data is 1 MiB). */
export const MAX_RULE_FILE_BYTES = 1 << 20;

interface Where {
  group?: string;
  rule?: number;
  ruleName?: string;
}

class Checker {
  readonly problems: RuleProblem[] = [];
  private readonly lines = new LineCounter();
  private doc: Document | null = null;

  constructor(private readonly text: string) {}

  pos(node: YamlNode | null | undefined): { line?: number; column?: number } {
    const off = node?.range?.[0];
    if (off === undefined) return {};
    const p = this.lines.linePos(off);
    return { line: p.line, column: p.col };
  }

  add(message: string, where: Where, field?: string, node?: YamlNode | null): void {
    this.problems.push({ message, ...where, ...(field !== undefined ? { field } : {}), ...this.pos(node) });
  }

  run(): RuleFile | null {
    if (Buffer.byteLength(this.text, 'utf8') > MAX_RULE_FILE_BYTES) {
      this.add(`the rule file is larger than ${MAX_RULE_FILE_BYTES} bytes`, {});
      return null;
    }
    // Like promtool, only the first YAML document of the file counts.
    const docs = parseAllDocuments(this.text, { lineCounter: this.lines, uniqueKeys: true, merge: true, prettyErrors: false, strict: true });
    const doc = Array.isArray(docs) ? docs[0] : docs;
    if (!doc) return { groups: [] };
    for (const e of doc.errors) {
      const p = e.linePos?.[0] ?? this.lines.linePos(e.pos[0]);
      this.problems.push({ message: `invalid YAML: ${e.message.split('\n')[0]}`, line: p.line, column: p.col });
    }
    if (doc.errors.length) return null;
    this.doc = doc;
    const root = doc.contents as YamlNode | null;
    if (root === null || (isScalar(root) && root.value === null)) return { groups: [] };
    if (!isMap(root)) {
      this.add(`expected a mapping with "groups", got ${kindOf(root)}`, {}, undefined, root);
      return null;
    }
    const fields = this.fields(root, ['groups'], {}, 'rulefmt.RuleGroups');
    const groupsNode = this.deref(fields.get('groups'));
    const groups: RuleGroupDef[] = [];
    if (groupsNode && !isNull(groupsNode)) {
      if (!isSeq(groupsNode)) this.add(`expected a list of groups, got ${kindOf(groupsNode)}`, {}, 'groups', groupsNode);
      else {
        const seen = new Set<string>();
        for (const g of groupsNode.items as YamlNode[]) {
          const group = this.group(g, seen);
          if (group) groups.push(group);
        }
      }
    }
    return this.problems.length ? null : { groups };
  }

  /** The node an alias points to (anchors are plain YAML; Go's yaml resolves them too). */
  deref(n: YamlNode | null | undefined): YamlNode | null {
    for (let i = 0; n && isAlias(n) && i < 100; i++) n = n.resolve(this.doc!) as YamlNode | undefined;
    return n ?? null;
  }

  /** A mapping's pairs with `<<` merge keys expanded (explicit keys win) and aliases resolved. */
  pairs(m: YAMLMap, depth = 0): { key: YamlNode; keyText: string | null; value: YamlNode | null }[] {
    const out: { key: YamlNode; keyText: string | null; value: YamlNode | null }[] = [];
    const merged: typeof out = [];
    for (const p of m.items as Pair<YamlNode, YamlNode | null>[]) {
      const key = this.deref(p.key)!;
      const keyText = isScalar(key) ? scalarText(key) : null;
      const value = this.deref(p.value);
      if (keyText === '<<' && depth < 10) {
        const sources = value && isSeq(value) ? (value.items as YamlNode[]).map((x) => this.deref(x)) : [value];
        for (const src of sources) if (src && isMap(src)) merged.push(...this.pairs(src, depth + 1));
        continue;
      }
      out.push({ key, keyText, value });
    }
    for (const mp of merged) if (!out.some((o) => o.keyText === mp.keyText)) out.push(mp);
    return out;
  }

  /** The mapping's values by key; unknown and non-string keys are problems (Go's KnownFields). */
  private fields(m: YAMLMap, known: string[], where: Where, typeName: string): Map<string, YamlNode | null> {
    const out = new Map<string, YamlNode | null>();
    for (const p of this.pairs(m)) {
      if (p.keyText === null || !known.includes(p.keyText)) {
        this.add(`field ${p.keyText ?? kindOf(p.key)} not found in type ${typeName}`, where, p.keyText ?? undefined, p.key);
        continue;
      }
      out.set(p.keyText, p.value);
    }
    return out;
  }

  private str(node: YamlNode | null | undefined, where: Where, field: string): string {
    node = this.deref(node);
    if (!node || isNull(node)) return '';
    if (isScalar(node)) return scalarText(node);
    this.add(`expected a string, got ${kindOf(node)}`, where, field, node);
    return '';
  }

  private duration(node: YamlNode | null | undefined, where: Where, field: string): number {
    node = this.deref(node);
    if (!node || isNull(node)) return 0;
    if (!isScalar(node)) {
      this.add(`expected a duration, got ${kindOf(node)}`, where, field, node);
      return 0;
    }
    const text = scalarText(node);
    const ms = parseDuration(text);
    if (ms === null) this.add(text === '' ? 'empty duration string' : `not a valid duration string: ${JSON.stringify(text)}`, where, field, node);
    return ms ?? 0;
  }

  private group(raw: YamlNode, seen: Set<string>): RuleGroupDef | null {
    const node = this.deref(raw) ?? raw;
    if (!isMap(node)) {
      this.add(`expected a group mapping, got ${kindOf(node)}`, {}, undefined, node);
      return null;
    }
    const nameNode = node.get('name', true) as YamlNode | undefined;
    const pre = this.fields(node, GROUP_FIELDS, isScalar(nameNode) ? { group: scalarText(nameNode) } : {}, 'rulefmt.RuleGroup');
    const name = this.str(pre.get('name'), {}, 'name');
    const where: Where = { group: name };
    if (name === '') this.add('group name must not be empty', where, 'name', node);
    else if (seen.has(name)) this.add(`group name ${JSON.stringify(name)} is repeated in the same file`, where, 'name', pre.get('name') ?? node);
    seen.add(name);
    const intervalMs = this.duration(pre.get('interval'), where, 'interval');
    const queryOffsetNode = this.deref(pre.get('query_offset'));
    const queryOffsetMs = queryOffsetNode && !isNull(queryOffsetNode) ? this.duration(queryOffsetNode, where, 'query_offset') : null;
    let limit = 0;
    const limitNode = this.deref(pre.get('limit'));
    if (limitNode && !isNull(limitNode)) {
      const v = isScalar(limitNode) ? limitNode.value : undefined;
      // Go's yaml.v3 puts a float into an int field truncated, as promtool accepts `limit: 1.5`.
      if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) limit = Math.trunc(v);
      else this.add(`expected an integer, got ${isScalar(limitNode) ? JSON.stringify(scalarText(limitNode)) : kindOf(limitNode)}`, where, 'limit', limitNode);
    }
    const rules: RuleDef[] = [];
    const rulesNode = this.deref(pre.get('rules'));
    if (rulesNode && !isNull(rulesNode)) {
      if (!isSeq(rulesNode)) this.add(`expected a list of rules, got ${kindOf(rulesNode)}`, where, 'rules', rulesNode);
      else (rulesNode.items as YamlNode[]).forEach((r, i) => {
        const rule = this.rule(r, name, i + 1);
        if (rule) rules.push(rule);
      });
    }
    return { name, intervalMs, limit, queryOffsetMs, rules };
  }

  private stringMap(node: YamlNode | null | undefined, where: Where, field: string): Record<string, string> {
    const out: Record<string, string> = {};
    node = this.deref(node);
    if (!node || isNull(node)) return out;
    if (!isMap(node)) {
      this.add(`expected a mapping of strings, got ${kindOf(node)}`, where, field, node);
      return out;
    }
    for (const p of this.pairs(node)) {
      if (p.keyText === null) {
        this.add(`expected a string key, got ${kindOf(p.key)}`, where, field, p.key);
        continue;
      }
      out[p.keyText] = this.str(p.value, where, `${field}.${p.keyText}`);
    }
    return out;
  }

  private rule(raw: YamlNode, group: string, index: number): RuleDef | null {
    const node = this.deref(raw) ?? raw;
    const base: Where = { group, rule: index };
    if (!isMap(node)) {
      this.add(`expected a rule mapping, got ${kindOf(node)}`, base, undefined, node);
      return null;
    }
    const named = (['alert', 'record'] as const).map((k) => node.get(k, true) as YamlNode | undefined).find((n) => isScalar(n) && scalarText(n) !== '');
    const f = this.fields(node, RULE_FIELDS, named ? { ...base, ruleName: scalarText(named) } : base, 'rulefmt.RuleNode');
    const record = this.str(f.get('record'), base, 'record');
    const alert = this.str(f.get('alert'), base, 'alert');
    const where: Where = { ...base, ruleName: alert || record };
    const expr = this.str(f.get('expr'), where, 'expr');
    const forMs = this.duration(f.get('for'), where, 'for');
    const keepFiringForMs = this.duration(f.get('keep_firing_for'), where, 'keep_firing_for');
    const labels = this.stringMap(f.get('labels'), where, 'labels');
    const annotations = this.stringMap(f.get('annotations'), where, 'annotations');

    if (record && alert) this.add("only one of 'record' and 'alert' must be set", where, 'record', f.get('record'));
    if (!record && !alert) this.add("one of 'record' or 'alert' must be set", where, 'record', node);
    if (expr === '') this.add("field 'expr' must be set in rule", where, 'expr', f.get('expr') ?? node);
    else {
      try {
        parseExpr(expr);
      } catch (e) {
        const pe = e as Error & { describe?: () => string };
        this.add(`could not parse expression: ${pe.describe ? pe.describe() : pe.message}`, where, 'expr', f.get('expr'));
      }
    }
    if (record) {
      if (Object.keys(annotations).length) this.add("invalid field 'annotations' in recording rule", where, 'annotations', f.get('annotations'));
      if (forMs !== 0) this.add("invalid field 'for' in recording rule", where, 'for', f.get('for'));
      if (keepFiringForMs !== 0) this.add("invalid field 'keep_firing_for' in recording rule", where, 'keep_firing_for', f.get('keep_firing_for'));
      if (!METRIC_NAME.test(record)) this.add(`invalid recording rule name: ${record}`, where, 'record', f.get('record'));
    }
    for (const k of Object.keys(labels)) {
      if (!LABEL_NAME.test(k) || k === '__name__') this.add(`invalid label name: ${k}`, where, `labels.${k}`, f.get('labels'));
    }
    for (const k of Object.keys(annotations)) {
      if (!LABEL_NAME.test(k)) this.add(`invalid annotation name: ${k}`, where, `annotations.${k}`, f.get('annotations'));
    }
    if (alert) {
      for (const [field, m] of [['labels', labels], ['annotations', annotations]] as const) {
        for (const [k, v] of Object.entries(m)) {
          try {
            checkAlertTemplate(v);
          } catch (e) {
            if (!(e instanceof TemplateParseError)) throw e;
            this.add(`template: ${e.detail} (template line ${e.line})`, where, `${field}.${k}`, f.get(field));
          }
        }
      }
    }
    return { kind: record ? 'recording' : 'alerting', name: alert || record, expr, forMs, keepFiringForMs, labels, annotations };
  }
}

function isNull(n: YamlNode): boolean {
  return isScalar(n) && n.value === null;
}

/** A scalar's text as Go's yaml.v3 gives it to a string field: the source text for plain scalars. */
function scalarText(n: YamlNode & { source?: string; value?: unknown }): string {
  if (n.value === null) return '';
  if (typeof n.value === 'string') return n.value;
  return typeof n.source === 'string' ? n.source : String(n.value);
}

function kindOf(n: YamlNode | null | undefined): string {
  if (!n) return 'nothing';
  if (isMap(n)) return 'a mapping';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) return `the ${typeof n.value} ${JSON.stringify(scalarText(n))}`;
  return 'an unknown node';
}

/** Parses and validates a rule file; throws RuleFileError listing every problem. */
export function parseRuleFile(text: string): RuleFile {
  const c = new Checker(text);
  const out = c.run();
  if (!out || c.problems.length) throw new RuleFileError(c.problems.length ? c.problems : [{ message: 'invalid rule file' }]);
  return out;
}
